/*
 * tests/bench/dev.mjs — the development measure of a learning run, beside
 * the end-to-end test's eval (`make bench-loop` prints it for every seed).
 *
 * Settings are to be chosen on a development split and reported on a test
 * split nothing was tuned on.  The demo world's eval split is the test
 * split (tests/e2e/learning.test.mjs asserts on it); this is the development
 * split: the train prompts the latest reward model held out (by prompt, the
 * same in every round: its heldout_prompt_ids), which no job of the loop
 * trains on — the reward job measures on them, `best` and RL take only the
 * reward model's training prompts.  In two parts, as the eval: dev a, the
 * held-out prompts whose item (the country, the fact, the topic: prompt meta)
 * some training prompt of the reward model also asks; dev b, the others.
 *
 * Every model the run made that writes (the SFT model and each policy)
 * answers every dev prompt K times with the eval's sampling (one generate
 * job, fixed seed), and the rubric rater (default taste, no noise) rates
 * them — on a copy of the run's data directory, so none of it reaches the
 * run.  Prints per model the rubric mean with its normal 95 % interval over
 * the answers, whole and per part, and the change from the SFT model paired
 * by prompt, with its 95 % interval over the prompts.
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
import { ENV, jobs, ok, pairedChange, rubricRate, waitJob } from '../lib/e2e.mjs';

const K = 8;
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
	const rj = (await jobs(srv)).filter((j) => j.kind === 'reward' && j.status === 'succeeded')
		.sort((a, b) => b.id - a.id)[0];
	assert.ok(rj, 'the run has a reward model');
	const m = (await ok(await srv.admin.get(`/api/jobs/${rj.id}`), `GET /api/jobs/${rj.id}`)).metrics;
	const held = m.heldout_prompt_ids, trained = m.train_prompt_ids;
	assert.ok(held.length > 0 && trained.length > 0, 'the reward model lists its prompts');

	/* an item is what a prompt asks about, whatever the words */
	const item = (meta) => JSON.stringify(['family', 'country', 'answer', 'kind', 'topic'].map((k) => meta[k] ?? null));
	const meta = new Map(sqlite(path.join(dir, 'rlhfd.db'), 'SELECT id, meta FROM prompts').split('\n')
		.map((l) => { const i = l.indexOf('|'); return [Number(l.slice(0, i)), JSON.parse(l.slice(i + 1))]; }));
	const trainedItems = new Set(trained.map((id) => item(meta.get(id))));
	const part = new Map(held.map((id) => [id, trainedItems.has(item(meta.get(id))) ? 'a' : 'b']));

	const models = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models
		.filter((x) => x.kind === 'sft' || x.kind === 'policy').sort((a, b) => a.id - b.id);
	const sft = models.find((x) => x.kind === 'sft');
	assert.ok(sft, 'the run has an SFT model');
	for (const x of models) {
		const r = await ok(await srv.admin.post('/api/generate', { prompt_ids: held, model_id: x.id, k: K, ...SAMPLING }),
			'POST /api/generate (dev)', 202);
		await waitJob(srv, r.job_id, 1800);
	}
	const rater = await createRater(srv, 'dev-rubric');
	await rubricRate(srv, rater.token);

	const tally = () => ({ sum: 0, sq: 0, n: 0 });
	const res = new Map(models.map((x) => [x.id, { all: tally(), a: tally(), b: tally() }]));
	const seenGroups = new Map();
	/* per model, per dev prompt: the mean of its K answers, for the paired change */
	const perPrompt = new Map(models.map((x) => [x.id, new Map()]));
	for (const id of held) {
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
				for (const t of [res.get(x.id).all, res.get(x.id)[part.get(id)]]) {
					t.sum += a.mean_score;
					t.sq += a.mean_score ** 2;
					t.n++;
				}
			}
		}
	}
	assert.equal(seenGroups.size, held.length * models.length, 'one new group per model and dev prompt');
	const mean = (t) => (t.n ? t.sum / t.n : NaN);
	const pm = (t) => `${mean(t).toFixed(3)} ± ${(t.n ? 1.96 * Math.sqrt(Math.max(0, t.sq / t.n - mean(t) ** 2) / t.n) : NaN).toFixed(3)}`;
	/* the change from the SFT model, paired by prompt (pairedChange) */
	const change = (x, which) => pairedChange(held.filter((id) => which === 'all' || part.get(id) === which)
		.map((id) => perPrompt.get(x.id).get(id) - perPrompt.get(sft.id).get(id)));
	const nA = held.filter((id) => part.get(id) === 'a').length;
	console.log(`dev (reward model ${rj.id}'s held-out train prompts, never trained on; rubric, ${K} answers each): ` +
		`${held.length} prompts, dev a ${nA}, dev b ${held.length - nA}`);
	console.log('  model  kind        dev_mean          dev_a             dev_b       change, paired by prompt (all / a / b)');
	for (const x of models) {
		const r = res.get(x.id);
		console.log(`  ${String(x.id).padStart(5)}  ${(x.kind + (x.active ? '*' : '')).padEnd(7)}  ${pm(r.all)}  ${pm(r.a)}  ${pm(r.b)}  ` +
			`${change(x, 'all')} / ${change(x, 'a')} / ${change(x, 'b')}`);
	}
	console.log('  (* the active model at the end of the run)');
} finally {
	await srv.stop();
	rmSync(dir, { recursive: true, force: true });
}
