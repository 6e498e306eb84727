/*
 * tests/api/disagreements.test.mjs — GET /api/disagreements on a tiny model
 * (tests/lib/tiny_model.mjs) after real generate, rating, reward and score
 * jobs: the pairs of answers of one group the raters and the newest reward
 * model order oppositely, largest disagreement first.  The expected pairs,
 * counts and sizes are computed here from GET /api/prompts/{id} (each
 * answer's human mean_score, its ratings and its rm_score), enumerating every
 * pair of every group of every prompt — never copied from the endpoint.
 * Before any reward model: reward_model_id null, no items; bad limit / split
 * → 400 naming the parameter; a rater → 403.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail, assertError } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 6, evalPrompts: 3 }); });
after(() => tiny?.cleanup());

/*
 * Every pair of answers of one group, both with a human mean and an
 * rm_score, from the prompt pages of ids: compared = how many such pairs
 * (each once), dis = those the two orders disagree on, oriented so that a is
 * the answer the raters prefer, with size (h_a - h_b) * (rm_b - rm_a).
 */
async function expected(srv, ids, modelId) {
	let compared = 0;
	const dis = [];
	for (const pid of ids) {
		const p = await promptDetail(srv, pid);
		const groups = new Map();
		for (const r of p.responses) {
			const n = r.ratings.filter((x) => !x.superseded_at).length;
			if (r.mean_score === null || r.rm_score === null) continue;
			assert.equal(r.rm_model_id, modelId, `answer ${r.id} scored by the newest reward model`);
			groups.set(r.group_id, [...(groups.get(r.group_id) || []), { ...r, n }]);
		}
		for (const [gid, g] of groups)
			for (let i = 0; i < g.length; i++)
				for (let j = i + 1; j < g.length; j++) {
					compared++;
					const [a, b] = g[i].mean_score > g[j].mean_score ? [g[i], g[j]] : [g[j], g[i]];
					if (a.mean_score > b.mean_score && a.rm_score < b.rm_score)
						dis.push({ prompt_id: pid, prompt: p.text, group_id: gid, a, b,
							size: (a.mean_score - b.mean_score) * (b.rm_score - a.rm_score) });
				}
	}
	dis.sort((x, y) => y.size - x.size);
	return { compared, dis };
}

const close = (x, y, what) => assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y)), `${what}: ${x}, expected ${y}`);

function checkItems(got, want, what) {
	const key = (d) => `${d.a.id}/${d.b.id}`;
	const byKey = new Map(want.dis.map((d) => [key(d), d]));
	for (let i = 0; i < got.items.length; i++) {
		const it = got.items[i], w = byKey.get(key(it));
		assert.ok(w, `${what}: item ${i} (${key(it)}) is not a disagreement by the prompt pages: ${JSON.stringify(it)}`);
		assert.equal(it.prompt_id, w.prompt_id);
		assert.equal(it.prompt, w.prompt);
		assert.equal(it.group_id, w.group_id);
		for (const s of ['a', 'b']) {
			assert.equal(it[s].text, w[s].text);
			assert.equal(it[s].mean_score, w[s].mean_score, `${what}: ${s} mean`);
			assert.equal(it[s].rm_score, w[s].rm_score, `${what}: ${s} rm_score`);
			assert.equal(it[s].ratings, w[s].n, `${what}: ${s} ratings`);
		}
		assert.ok(it.a.mean_score > it.b.mean_score && it.a.rm_score < it.b.rm_score, JSON.stringify(it));
		close(it.size, w.size, `${what}: item ${i} size`);
		// in order: the i-th largest size of all disagreements
		close(it.size, want.dis[i].size, `${what}: item ${i} is the ${i + 1}-th largest`);
		if (i > 0) assert.ok(got.items[i - 1].size >= it.size, `${what}: sorted by size`);
	}
	assert.equal(new Set(got.items.map(key)).size, got.items.length, `${what}: no pair twice`);
}

test('disagreements: the pairs the raters and the newest reward model order oppositely, largest first', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds, evalIds } = w;
		const allIds = [...trainIds, ...evalIds];
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');

		// access and parameters
		assertError(await ann.client.get('/api/disagreements'), 403, 'a rater');
		for (const q of ['limit=0', 'limit=501', 'limit=abc', 'limit=', 'limit=2.5'])
			assertError(await srv.admin.get(`/api/disagreements?${q}`), 400, q);
		for (const q of ['limit=0', 'limit=501', 'limit=x'])
			assert.match((await srv.admin.get(`/api/disagreements?${q}`)).json.error.message, /limit/, q);
		for (const q of ['split=test', 'split=TRAIN'])
			assert.match((await srv.admin.get(`/api/disagreements?${q}`)).json.error.message, /split/, q);

		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 4, max_tokens: 8 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8, split: 'eval' }));
		// two raters per group, each by position in their own shuffled order:
		// means in halves, so the raters' order is rich and has ties
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: 2 })).status, 200);
		assert.ok(await rateAll(ann) > 0);
		assert.ok(await rateAll(bob) > 0);
		// an unrated group: scored by the reward model, but no human figure
		const imp = await srv.admin.post(`/api/prompts/${trainIds[0]}/responses`, { responses: ['one', 'two', 'three'] });
		assert.equal(imp.status, 201, imp.text);

		// before any reward model
		const none = await srv.admin.get('/api/disagreements');
		assert.equal(none.status, 200, none.text);
		assert.equal(none.json.reward_model_id, null);
		assert.deepEqual(none.json.items, []);
		assert.equal(none.json.pairs_compared, 0);
		assert.equal(none.json.disagreements, 0);

		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);

		for (const [split, ids] of [['', allIds], ['train', trainIds], ['eval', evalIds]]) {
			const want = await expected(srv, ids, rj.model_id);
			const r = await srv.admin.get(`/api/disagreements?limit=500${split ? '&split=' + split : ''}`);
			assert.equal(r.status, 200, r.text);
			const what = `split '${split}'`;
			assert.equal(r.json.reward_model_id, rj.model_id, what);
			assert.equal(r.json.pairs_compared, want.compared, `${what}: pairs compared`);
			assert.equal(r.json.disagreements, want.dis.length, `${what}: disagreements`);
			assert.equal(r.json.items.length, want.dis.length, `${what}: every disagreement listed`);
			checkItems(r.json, want, what);
			if (!split) {
				assert.ok(want.compared > 0 && want.dis.length > 1,
					`the data makes disagreements: ${want.dis.length} of ${want.compared}`);
				// the default limit and a small one: the largest first
				const d = await srv.admin.get('/api/disagreements');
				assert.equal(d.json.items.length, Math.min(50, want.dis.length));
				const two = await srv.admin.get('/api/disagreements?limit=2');
				assert.equal(two.status, 200, two.text);
				assert.equal(two.json.items.length, 2);
				assert.equal(two.json.disagreements, want.dis.length, 'the count is of all, not of the page');
				checkItems(two.json, want, 'limit=2');
			}
		}
	} finally {
		await w.stop();
	}
});
