/*
 * tests/bench/queue_curve.mjs — `make bench-loop`'s "uncertain vs fifo" table:
 * what the uncertainty-first queue (config queue_order, db/tasks.c) saves in
 * labels.  On the demo world, for each seed and each order ("fifo",
 * "uncertain" with the default random share), from the same fresh data
 * directory: the rubric rater (`rlhfd rubric-rate`, noise 0.1) takes tasks
 * through GET /api/tasks/next up to each budget of ratings, then a reward job
 * (default params, the run's seed) trains on them and its score job scores
 * every answer.  Per point it records the reward job's held-out accuracy
 * (heldout_acc, held out by prompt among the rated ones, with its Wilson
 * interval).  The two orders rate different held-out groups ("uncertain" the
 * hard ones first), so heldout_acc compares different sets; the table also
 * gives each point's accuracy on one fixed set, the same for both orders of a
 * seed: after the last point a second rater rates every group again without
 * noise (the oracle), and each point's reward model's stored scores are
 * compared with the oracle's on every group of the reward jobs' held-out
 * prompts (chosen by the seed, so the same for both orders; no reward job
 * trained on them), every pair of one group with different oracle scores, a
 * tie in reward-model score counting half.
 * Then, per seed and on the seed means, the labels "uncertain" saves at equal
 * accuracy: 1 - n_uncertain / n_fifo, n_fifo read off the fifo curve by
 * linear interpolation (blank when the uncertain accuracy is below the fifo
 * curve's first point, "> x" when above its last).
 *
 * Environment: QUEUE_SEEDS ("1 2 3"), QUEUE_BUDGETS ("200 400 800 1200"
 * ratings; the demo world has 311 train groups of 4 answers), QUEUE_NOISE
 * (0.1), QUEUE_JOB_TIMEOUT_S (1800).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { createRater, sqlite } from '../lib/fixtures.mjs';
import { ENV, demoServer, now, ok, run, waitJob } from '../lib/e2e.mjs';

const SEEDS = (process.env.QUEUE_SEEDS || '1 2 3').trim().split(/\s+/).map(Number);
const BUDGETS = (process.env.QUEUE_BUDGETS || '200 400 800 1200').trim().split(/\s+/).map(Number);
const NOISE = Number(process.env.QUEUE_NOISE ?? 0.1);
const TIMEOUT = Number(process.env.QUEUE_JOB_TIMEOUT_S || 1800);
const ORDERS = ['fifo', 'uncertain'];

const log = (s) => console.log(s);

async function rubric(srv, token, max, noise, seed) {
	const args = ['rubric-rate', '--url', srv.url, '--token', token];
	if (max) args.push('--max', String(max));
	if (noise > 0) args.push('--noise', String(noise), '--seed', String(seed));
	const { stdout } = await run(args, { env: { ...process.env, ...ENV } });
	const m = stdout.match(/^tasks=(\d+) ratings=(\d+)/m);
	assert.ok(m, `rubric-rate printed no summary:\n${stdout.slice(-2000)}`);
	return { tasks: +m[1], ratings: +m[2] };
}

/* The base world: a fresh demo init (answers to every train prompt), its
 * server stopped.  Returns { dir, adminToken }. */
async function baseWorld() {
	const w = await demoServer();
	log(`base world: demo init ${w.initSec.toFixed(0)} s`);
	await w.srv.stop();
	return { dir: w.dataDir, adminToken: w.srv.adminToken };
}

/* Pairwise accuracy of reward model m's stored scores against the oracle's
 * ratings of the groups of the prompts promptIds: [correct, pairs]. */
function fixedAccuracy(db, m, oracleId, promptIds) {
	const row = sqlite(db,
		'SELECT sum(CASE WHEN (ra.score - rb.score) * (sa.score - sb.score) > 0 THEN 1.0' +
		'            WHEN sa.score = sb.score THEN 0.5 ELSE 0 END), count(*)' +
		' FROM ratings ra JOIN ratings rb ON rb.group_id = ra.group_id AND rb.rater_id = ra.rater_id' +
		'  AND rb.response_id > ra.response_id AND rb.superseded_at IS NULL' +
		` JOIN rm_scores sa ON sa.response_id = ra.response_id AND sa.model_id = ${m}` +
		` JOIN rm_scores sb ON sb.response_id = rb.response_id AND sb.model_id = ${m}` +
		` WHERE ra.rater_id = ${oracleId} AND ra.superseded_at IS NULL AND ra.score <> rb.score` +
		` AND ra.group_id IN (SELECT id FROM gen_groups WHERE prompt_id IN (${promptIds.join(',')}))`);
	const [c, n] = row.split('|').map(Number);
	return [c, n];
}

async function oneRun(base, seed, order) {
	const dir = mkdtempSync(path.join(tmpdir(), `rlhfd-queue-${order}-`));
	cpSync(base.dir, dir, { recursive: true });
	const srv = await startServer({ dataDir: dir, adminToken: base.adminToken, env: ENV });
	const points = [];
	try {
		await ok(await srv.admin.put('/api/config', { queue_order: order }), 'PUT /api/config');
		const rater = await createRater(srv, `sim-${order}`);
		let ratings = 0, tasks = 0;
		for (const [i, budget] of BUDGETS.entries()) {
			const t0 = now();
			// tasks to take: a group has up to 4 answers (fewer when generation dropped a copy)
			const need = Math.round((budget - ratings) / (tasks ? ratings / tasks : 4));
			if (need > 0) {
				const got = await rubric(srv, rater.token, need, NOISE, seed * 100 + i);
				ratings += got.ratings;
				tasks += got.tasks;
			}
			const job = await ok(await srv.admin.post('/api/train', { kind: 'reward', params: { seed } }), 'POST /api/train', 202);
			const rj = await waitJob(srv, job.job_id, TIMEOUT);
			await waitJob(srv, rj.metrics.score_job_id, TIMEOUT);
			const m = rj.metrics;
			const p = { ratings, model: rj.model_id, heldoutIds: m.heldout_prompt_ids, acc: m.heldout_acc,
				lo: m.heldout_lo, hi: m.heldout_hi, pairs: m.heldout_pairs, net: m.heldout_acc_network, sec: now() - t0 };
			points.push(p);
			log(`seed ${seed} ${order.padEnd(9)} ${String(ratings).padStart(5)} ratings: heldout_acc ${p.acc.toFixed(3)} ` +
				`[${p.lo.toFixed(3)}, ${p.hi.toFixed(3)}] (${p.pairs} pairs; network ${p.net?.toFixed(3)}), ${p.sec.toFixed(0)} s`);
		}
		// the oracle: every group rated again, without noise
		await ok(await srv.admin.put('/api/config', { ratings_per_group: 2 }), 'PUT /api/config');
		const oracle = await createRater(srv, 'oracle');
		await rubric(srv, oracle.token, 0, 0, 1);
		const held = points[points.length - 1].heldoutIds;
		for (const p of points) {
			const [c, n] = fixedAccuracy(path.join(dir, 'rlhfd.db'), p.model, oracle.id, held);
			p.evalAcc = c / n;
			p.evalPairs = n;
		}
		log(`seed ${seed} ${order.padEnd(9)} fixed set (${held.length} held-out prompts, ${points[0].evalPairs} oracle pairs): ` +
			points.map((p) => p.evalAcc.toFixed(3)).join(' '));
	} finally {
		await srv.stop();
		rmSync(dir, { recursive: true, force: true });
	}
	return points;
}

/* Ratings at which the curve (points by ratings) reaches acc, linearly
 * interpolated between the first two points around it: null below the first
 * point, Infinity above every point. */
function ratingsAt(curve, acc) {
	if (acc < curve[0].acc) return null;
	for (let i = 1; i < curve.length; i++) {
		const a = curve[i - 1], b = curve[i];
		if (acc >= Math.min(a.acc, b.acc) && acc <= Math.max(a.acc, b.acc) && b.acc !== a.acc)
			return a.ratings + (acc - a.acc) / (b.acc - a.acc) * (b.ratings - a.ratings);
		if (acc === a.acc) return a.ratings;
	}
	return acc === curve[curve.length - 1].acc ? curve[curve.length - 1].ratings : Infinity;
}

function saved(fifo, unc, key) {
	return unc.map((u) => {
		const n = ratingsAt(fifo.map((f) => ({ ratings: f.ratings, acc: f[key] })), u[key]);
		if (n === null) return '   —';
		if (n === Infinity) return `>${(1 - u.ratings / fifo[fifo.length - 1].ratings).toFixed(2)}`.padStart(5);
		return (1 - u.ratings / n).toFixed(2).padStart(5);
	});
}

/* mean ± 95 % t half-width over seeds */
const T975 = { 1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571 };
function meanCi(xs) {
	const m = xs.reduce((a, b) => a + b, 0) / xs.length;
	if (xs.length < 2) return [m, NaN];
	const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
	return [m, (T975[xs.length - 1] || 2) * sd / Math.sqrt(xs.length)];
}

const t0 = now();
const base = await baseWorld();
const results = {};
try {
	for (const seed of SEEDS) {
		results[seed] = {};
		for (const order of ORDERS) results[seed][order] = await oneRun(base, seed, order);
	}
} finally {
	rmSync(base.dir, { recursive: true, force: true });
}

log('');
log('uncertain vs fifo — reward-model accuracy against ratings trained on (demo world, rubric rater noise ' + NOISE + ')');
log('  heldout = the reward job\'s heldout_acc [95 % Wilson]; fixed = the stored scores against a noiseless rater on');
log('  every group of the held-out prompts (the same set for both orders of a seed);');
log('  saved = labels "uncertain" saves at equal accuracy (1 - n_uncertain / n_fifo, fifo curve interpolated)');
for (const seed of SEEDS) {
	const f = results[seed].fifo, u = results[seed].uncertain;
	const sh = saved(f, u, 'acc'), se = saved(f, u, 'evalAcc');
	const same = JSON.stringify(f[f.length - 1].heldoutIds) === JSON.stringify(u[u.length - 1].heldoutIds);
	log(`seed ${seed}:${same ? '' : ' (the fixed sets differ: the last budget did not rate every group in both orders)'}`);
	log('  ratings fifo/unc. | fifo heldout          | uncertain heldout     | saved | fifo fixed | unc. fixed | saved');
	for (let i = 0; i < u.length; i++) {
		const w = (p) => `${p.acc.toFixed(3)} [${p.lo.toFixed(2)},${p.hi.toFixed(2)}]`;
		log(`  ${`${f[i].ratings}/${u[i].ratings}`.padStart(17)} | ${w(f[i]).padEnd(21)} | ${w(u[i]).padEnd(21)} | ${sh[i]} | ` +
			`${f[i].evalAcc.toFixed(3).padStart(10)} | ${u[i].evalAcc.toFixed(3).padStart(10)} | ${se[i]}`);
	}
}
const mean = (order, key) => BUDGETS.map((_, i) => ({
	ratings: meanCi(SEEDS.map((s) => results[s][order][i].ratings))[0],
	[key]: meanCi(SEEDS.map((s) => results[s][order][i][key]))[0],
}));
log(`mean over seeds ${SEEDS.join(', ')} (± 95 % t half-width over seeds):`);
log('  budget | fifo heldout  | unc. heldout  | saved | fifo fixed    | unc. fixed    | saved');
const sh = saved(mean('fifo', 'acc'), mean('uncertain', 'acc'), 'acc');
const se = saved(mean('fifo', 'evalAcc'), mean('uncertain', 'evalAcc'), 'evalAcc');
for (let i = 0; i < BUDGETS.length; i++) {
	const c = (order, key) => {
		const [m, h] = meanCi(SEEDS.map((s) => results[s][order][i][key]));
		return `${m.toFixed(3)} ± ${h.toFixed(3)}`;
	};
	log(`  ${String(BUDGETS[i]).padStart(6)} | ${c('fifo', 'acc')} | ${c('uncertain', 'acc')} | ${sh[i]} | ` +
		`${c('fifo', 'evalAcc')} | ${c('uncertain', 'evalAcc')} | ${se[i]}`);
}
log(`(${((now() - t0) / 60).toFixed(1)} min)`);
