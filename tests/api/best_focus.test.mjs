/*
 * tests/api/best_focus.test.mjs — the best job's focus (server/worker/job_train.c
 * job_best): each answer rated at least min_score on a prompt the reward model
 * trained on is trained on 1 + focus x (the answers of its group rated below
 * min_score) times a pass.
 *
 * The raters' scores differ from group to group here (how many answers of a
 * group are good and how many below 4 varies), and the expected counts are
 * computed from the ratings export and the reward model's training prompts,
 * not from the job: metrics examples (the distinct answers) stays the same
 * whatever the focus, weighted_examples is the sum above, the replayed
 * pre-training documents follow weighted_examples (ptx 1 = one each), and
 * with the same seed and epochs more repeats mean more trained tokens.  A
 * focus out of range is refused.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRater, exportedRatings } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 8, evalPrompts: 2 }); });
after(() => tiny?.cleanup());

/* The scores of the n-th group the rater is handed: good (>= 4) and worse
 * answers in proportions that change from group to group. */
const PATTERNS = [[5, 1, 2, 3], [5, 4, 4, 1], [4, 5, 5, 5], [2, 5, 1, 1], [3, 3, 4, 2]];

async function rateVaried(rater) {
	for (let n = 0; ; n++) {
		const r = await rater.client.get('/api/tasks/next');
		if (r.status === 204) return n;
		assert.equal(r.status, 200, r.text);
		const t = r.json.task, p = PATTERNS[n % PATTERNS.length];
		const ratings = t.responses.map((x, i) => ({ response_id: x.id, score: p[i % p.length] }));
		const s = await rater.client.post('/api/ratings', { group_id: t.group_id, ratings });
		assert.equal(s.status, 201, s.text);
	}
}

test('best: each best-rated answer is trained on 1 + focus x its group\'s answers rated below 4 times', async () => {
	const w = await serverWithModel(tiny, { importArgs: ['--corpus', tiny.corpus] });
	try {
		const { srv } = w;
		const docs = readFileSync(tiny.corpus, 'utf8').split('\n\n');
		const empty = docs.filter((d) => d.length === 0).length;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 4 }));
		assert.ok(await rateVaried(await createRater(srv, 'ann')) >= PATTERNS.length, 'every pattern used');
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', {}));
		const trained = new Set(rj.metrics.train_prompt_ids);

		// by hand, from the export: per group of a training prompt, its good
		// answers and its answers below 4
		const groups = new Map();
		for (const r of await exportedRatings(srv)) {
			if (!trained.has(r.prompt_id)) continue;
			const g = groups.get(r.group_id) || { good: 0, below: 0 };
			if (r.score >= 4) g.good++; else g.below++;
			groups.set(r.group_id, g);
		}
		const good = [...groups.values()].reduce((a, g) => a + g.good, 0);
		const weighted = (f) => [...groups.values()].reduce((a, g) => a + g.good * (1 + f * g.below), 0);
		assert.ok(good > 0 && weighted(1) > good, `${good} good answers, some beside worse ones`);
		assert.ok(new Set([...groups.values()].map((g) => g.below)).size >= 2, 'groups differ in how many are below 4');

		const best = async (params) => jobSucceeded(srv, await submitJob(srv, 'best',
			{ require_reward_acc: 0, promote: 'never', epochs: 2, seed: 7, soup: 0, ptx: 1, ...params }));
		const runs = {};
		for (const focus of [0, 1, 3]) runs[focus] = await best({ focus });
		const dflt = await best({});
		assert.equal(dflt.metrics.settings.focus, 1, 'focus 1 by default');
		assert.equal(dflt.metrics.weighted_examples, weighted(1));
		for (const [f, j] of Object.entries(runs)) {
			assert.equal(j.metrics.settings.focus, Number(f));
			assert.equal(j.metrics.examples, good, `focus ${f}: the distinct answers rated >= 4`);
			assert.equal(j.metrics.weighted_examples, weighted(Number(f)), `focus ${f}: ${JSON.stringify(j.metrics)}`);
			const want = Math.min(docs.length, j.metrics.weighted_examples);
			assert.ok(j.metrics.ptx_documents <= want && j.metrics.ptx_documents >= want - empty,
				`focus ${f}: ${j.metrics.ptx_documents} replayed documents, one per sequence (want ${want}, ` +
				`${empty} empty documents)`);
		}
		assert.ok(runs[1].metrics.tokens > runs[0].metrics.tokens && runs[3].metrics.tokens > runs[1].metrics.tokens,
			`trained tokens ${runs[0].metrics.tokens}, ${runs[1].metrics.tokens}, ${runs[3].metrics.tokens}`);

		for (const focus of [-1, 101, 1.5, 'much']) {
			const bad = await srv.admin.post('/api/train', { kind: 'best', params: { focus } });
			assert.equal(bad.status, 400, `focus ${JSON.stringify(focus)}: ${bad.text}`);
			assert.equal(bad.json.error.field, 'params.focus', bad.text);
		}
	} finally {
		await w.stop();
	}
});
