/*
 * tests/bench/dev.mjs — the development measure of a learning run, beside
 * the end-to-end test's eval (`make bench-loop` prints it for every seed).
 *
 * Settings are to be chosen on a development split and reported on a test
 * split nothing was tuned on.  The demo world's eval split is the test split
 * (tests/e2e/learning.test.mjs asserts on it).  The development split is
 * built the way the eval split is: the eval prompts of the demo world under
 * other seeds (`rlhfd demo-data --prompts FILE --seed S`, S = 2..6) — the same
 * held-out items in part a (items the train split asks about) and part b
 * (items only pre-training names), in other words — less every text the
 * run's world already has, each text once.  So no text of it is an eval or
 * a train prompt of the run, and nothing of the loop ever saw it; it shares
 * the eval's items, as any split of held-out phrasings of the items the loop
 * trains on must in this world (every such item is in eval part a).
 *
 * Until 2026-12-04 the development split was the train prompts the latest
 * reward model held out.  Its part a (held-out prompts whose item some
 * training prompt also asks) held no capital question at all — each country
 * has one train prompt — where half of eval part a is capitals, and its
 * capitals were the SFT set's own items (4.5 of 5 before any rating): it
 * could not see what the loop teaches on part a.  On one kept run (seed 1)
 * the run's last policy (best, lr 1e-4) and one fine-tuned on the same
 * ratings with lr 3e-4 moved its part a +0.14 and +0.08 over the SFT model,
 * where this split's part a saw +0.65 and +1.02.
 *
 * Beside it, part c (since the eighth session of 2026-12-06): items the SFT set taught — the
 * other seeds' train texts the run's world does not have, about items no
 * eval text of any of these worlds asks about (a capital's country, a
 * topic, a fact's kind and answer), at most DEV_C of them.  Parts a and b
 * hold only items the SFT set never taught, where the loop has everything
 * to gain; part c says what it costs on what the SFT model already knew.
 * It is not part of "all", which stays the eval's counterpart.
 *
 * The measure: the split is imported into a copy of the run's data directory
 * (split "eval", meta "dev": true, so none of it reaches the run), every
 * model the run made that writes (the SFT model and each policy) answers
 * every dev prompt K times with the eval's sampling (one generate job, fixed
 * seed), and the rubric rater (default taste, no noise) rates them.  Prints
 * per model the rubric mean with its normal 95 % interval over the answers,
 * whole and per part, and the change from the SFT model paired by prompt,
 * with its 95 % interval over the prompts.
 *
 * usage: node tests/bench/dev.mjs DATA_DIR   (a directory the learning test
 * kept: RLHFD_E2E_KEEP=1 leaves it with its admin.token)
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { createRater, sqlite } from '../lib/fixtures.mjs';
import { ENV, ok, pairedChange, rubricRate, run, waitJob } from '../lib/e2e.mjs';

const K = 4;
const DEV_SEEDS = [2, 3, 4, 5, 6];
const DEV_C = 150;
/* what a demo prompt asks about (server/demo/demo_world.h meta) */
const itemOf = (m) => `${m.family}:${m.country ?? m.topic ?? `${m.kind}=${m.answer}`}`;
const SAMPLING = { temperature: 1.0, top_p: 0.95, max_tokens: 96, seed: 20240601, distinct: false };

const src = process.argv[2];
assert.ok(src, 'usage: node tests/bench/dev.mjs DATA_DIR');
const adminToken = readFileSync(path.join(src, 'admin.token'), 'utf8').trim();
const dir = mkdtempSync(path.join(tmpdir(), 'rlhfd-dev-'));
cpSync(src, dir, { recursive: true });
const srv = await startServer({ dataDir: dir, adminToken, env: ENV });
try {
	const c = await ok(await srv.admin.put('/api/config', { auto_train: { enabled: false } }), 'PUT /api/config');
	assert.equal(c.auto_train.enabled, false);
	/* the split: other seeds' eval texts the run's world does not have */
	const have = new Set(sqlite(path.join(dir, 'rlhfd.db'), 'SELECT json_quote(text) FROM prompts').split('\n')
		.map((l) => JSON.parse(l)));
	const dev = new Map(), known = new Map(), evalItems = new Set(), worlds = [];
	for (const seed of DEV_SEEDS) {
		const file = path.join(dir, `dev-prompts-${seed}.jsonl`);
		await run(['demo-data', '--prompts', file, '--seed', String(seed)]);
		worlds.push(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
	}
	for (const p of sqlite(path.join(dir, 'rlhfd.db'), "SELECT meta FROM prompts WHERE split = 'eval'").split('\n')
		.filter(Boolean).map((l) => JSON.parse(l)))
		evalItems.add(itemOf(p));
	for (const w of worlds)
		for (const p of w)
			if (p.split === 'eval') {
				evalItems.add(itemOf(p.meta));
				if (!have.has(p.text) && !dev.has(p.text))
					dev.set(p.text, { text: p.text, split: 'eval', meta: { ...p.meta, dev: true } });
			}
	for (const w of worlds)
		for (const p of w)
			if (p.split === 'train' && known.size < DEV_C && !have.has(p.text) && !dev.has(p.text) &&
			    !known.has(p.text) && !evalItems.has(itemOf(p.meta)))
				known.set(p.text, { text: p.text, split: 'eval', meta: { ...p.meta, dev: true, eval_part: 'c' } });
	const prompts = [...dev.values(), ...known.values()];
	const imp = await ok(await srv.admin.post('/api/prompts', { prompts }), 'POST /api/prompts (dev)', 201);
	const devIds = imp.ids;
	const part = new Map(devIds.map((id, i) => [id, prompts[i].meta.eval_part]));
	assert.ok(devIds.every((id) => ['a', 'b', 'c'].includes(part.get(id))), 'every dev prompt is in part a, b or c');

	const models = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models
		.filter((x) => x.kind === 'sft' || x.kind === 'policy').sort((a, b) => a.id - b.id);
	const sft = models.find((x) => x.kind === 'sft');
	assert.ok(sft, 'the run has an SFT model');
	for (const x of models) {
		const r = await ok(await srv.admin.post('/api/generate', { prompt_ids: devIds, model_id: x.id, k: K, ...SAMPLING }),
			'POST /api/generate (dev)', 202);
		await waitJob(srv, r.job_id, 1800);
	}
	const rater = await createRater(srv, 'dev-rubric');
	await rubricRate(srv, rater.token);

	const tally = () => ({ sum: 0, sq: 0, n: 0 });
	const res = new Map(models.map((x) => [x.id, { all: tally(), a: tally(), b: tally(), c: tally() }]));
	const seenGroups = new Map();
	/* per model, per dev prompt: the mean of its K answers, for the paired change */
	const perPrompt = new Map(models.map((x) => [x.id, new Map()]));
	for (const id of devIds) {
		const p = await ok(await srv.admin.get(`/api/prompts/${id}`), `GET /api/prompts/${id}`);
		for (const x of models) {
			const mine = p.responses.filter((y) => y.model_id === x.id);
			const g = Math.max(...mine.map((y) => y.group_id));
			const answers = mine.filter((y) => y.group_id === g);
			assert.equal(answers.length, K, `prompt ${id}: ${K} dev answers from model ${x.id}`);
			seenGroups.set(g, true);
			perPrompt.get(x.id).set(id, answers.reduce((s, a) => s + a.mean_score, 0) / answers.length);
			for (const a of answers) {
				assert.equal(typeof a.mean_score, 'number', `dev answer ${a.id} rated`);
				const ts = [res.get(x.id)[part.get(id)]];
				if (part.get(id) !== 'c')
					ts.push(res.get(x.id).all);
				for (const t of ts) {
					t.sum += a.mean_score;
					t.sq += a.mean_score ** 2;
					t.n++;
				}
			}
		}
	}
	assert.equal(seenGroups.size, devIds.length * models.length, 'one new group per model and dev prompt');
	const mean = (t) => (t.n ? t.sum / t.n : NaN);
	const pm = (t) => `${mean(t).toFixed(3)} ± ${(t.n ? 1.96 * Math.sqrt(Math.max(0, t.sq / t.n - mean(t) ** 2) / t.n) : NaN).toFixed(3)}`;
	/* the change from the SFT model, paired by prompt (pairedChange) */
	const change = (x, which) => pairedChange(devIds.filter((id) => (which === 'all' && part.get(id) !== 'c') ||
		part.get(id) === which).map((id) => perPrompt.get(x.id).get(id) - perPrompt.get(sft.id).get(id)));
	const nOf = (w) => devIds.filter((id) => part.get(id) === w).length;
	console.log(`dev (the eval texts of demo worlds ${DEV_SEEDS.join(', ')} this world does not have: held-out items in other words; rubric, ${K} answers each): ` +
		`${nOf('a') + nOf('b')} prompts, dev a ${nOf('a')}, dev b ${nOf('b')}; dev c (their train texts about items the SFT set taught, ` +
		`not in "all") ${nOf('c')}`);
	console.log('  model  kind        dev_mean          dev_a             dev_b             dev_c       change, paired by prompt (all / a / b / c)');
	for (const x of models) {
		const r = res.get(x.id);
		console.log(`  ${String(x.id).padStart(5)}  ${(x.kind + (x.active ? '*' : '')).padEnd(7)}  ${pm(r.all)}  ${pm(r.a)}  ${pm(r.b)}  ${pm(r.c)}  ` +
			`${change(x, 'all')} / ${change(x, 'a')} / ${change(x, 'b')} / ${change(x, 'c')}`);
	}
	console.log('  (* the active model at the end of the run)');
} finally {
	await srv.stop();
	rmSync(dir, { recursive: true, force: true });
}
