/*
 * tests/api/explore.test.mjs — the generate job's explore (server/worker/
 * job_generate.c): besides the prompts it is asked for, up to `explore`
 * prompts of the split whose answers people rated and rated none min_score
 * (4) or more — another try where the model has not been right yet — fewest
 * groups first, ties in the scattered order of their ids; their groups are
 * marked (GET /api/prompts/{id}: each answer's `explore`) and stay out of
 * people's verdict (tests/unit/test_work.c test_verdict).
 *
 * The expected prompts are computed from the ratings export, not from the
 * job: a prompt with a rated answer and no answer whose mean is 4 or more.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, exportedRatings, promptDetail, assertError } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ seq: 128, trainPrompts: 10, evalPrompts: 2 }); });
after(() => tiny?.cleanup());

/* The scores of the n-th group a rater is handed: some groups with an answer
 * rated 4 or 5, some without. */
const PATTERNS = [[5, 1, 2, 3], [2, 3, 1, 1], [3, 4, 2, 1], [1, 1, 2, 2], [3, 3, 3, 3]];

/* Skips the first task handed out (a prompt with answers and no rating),
 * then rates every other. */
async function rateAllButOne(rater) {
	const first = await rater.client.get('/api/tasks/next');
	assert.equal(first.status, 200, first.text);
	const skipped = first.json.task;
	assert.equal((await rater.client.post(`/api/tasks/${skipped.group_id}/skip`, {})).status, 200);
	let n = 0;
	for (;;) {
		const r = await rater.client.get('/api/tasks/next');
		if (r.status === 204) break;
		assert.equal(r.status, 200, r.text);
		const t = r.json.task, p = PATTERNS[n++ % PATTERNS.length];
		assert.notEqual(t.group_id, skipped.group_id, 'a skipped task is not handed out again');
		const ratings = t.responses.map((x, i) => ({ response_id: x.id, score: p[i % p.length] }));
		const s = await rater.client.post('/api/ratings', { group_id: t.group_id, ratings });
		assert.equal(s.status, 201, s.text);
	}
	return { rated: n, skipped: skipped.prompt_id };
}

/* Knuth's multiplicative scatter of an id, as the prompt order uses it. */
const scatter = (id) => (BigInt(id) * 2654435761n) % 4294967296n;

/* This job's groups of a prompt: [{group_id, explore}] from the prompt page. */
async function jobGroups(srv, promptId, before) {
	const d = await promptDetail(srv, promptId);
	const g = new Map();
	for (const r of d.responses) {
		if (r.group_id <= before) continue;
		assert.equal(typeof r.explore, 'boolean', `answer ${r.id}: explore ${JSON.stringify(r.explore)}`);
		if (g.has(r.group_id)) assert.equal(g.get(r.group_id), r.explore, `group ${r.group_id}: one mark for all its answers`);
		g.set(r.group_id, r.explore);
	}
	return [...g.entries()].map(([group_id, explore]) => ({ group_id, explore }));
}

async function maxGroupId(srv, ids) {
	let m = 0;
	for (const id of ids) for (const r of (await promptDetail(srv, id)).responses) m = Math.max(m, r.group_id);
	return m;
}

test('explore: another try at the prompts no answer of which was rated 4 or more, marked, fewest groups first', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds } = w;
		const g0 = await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 4 }));
		assert.equal(g0.metrics.groups, trainIds.length, 'every train prompt fits the context');
		const { rated, skipped } = await rateAllButOne(await createRater(srv, 'ann'));
		assert.ok(rated >= PATTERNS.length && skipped, `${rated} groups rated, one skipped`);

		// by hand: per prompt, the best mean of its rated answers
		const sums = new Map();
		for (const r of await exportedRatings(srv)) {
			const s = sums.get(r.response_id) || { prompt: r.prompt_id, sum: 0, n: 0 };
			s.sum += r.score;
			s.n++;
			sums.set(r.response_id, s);
		}
		const bestOf = new Map();
		for (const s of sums.values()) bestOf.set(s.prompt, Math.max(bestOf.get(s.prompt) ?? 0, s.sum / s.n));
		const unsolved = trainIds.filter((id) => bestOf.has(id) && bestOf.get(id) < 4)
			.sort((a, b) => (scatter(a) < scatter(b) ? -1 : 1));
		assert.ok(unsolved.length >= 3 && unsolved.length < rated, `unsolved prompts ${unsolved}`);
		assert.ok(!bestOf.has(skipped), 'the skipped prompt has no rating');
		const before0 = await maxGroupId(srv, trainIds);

		// the active model answered every train prompt: nothing new to ask, two to explore
		let j = await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, explore: 2 }));
		assert.equal(j.metrics.explore_prompts, 2);
		assert.equal(j.metrics.groups, 2);
		const explored = [];
		for (const id of trainIds) {
			const gs = await jobGroups(srv, id, before0);
			if (gs.length === 0) continue;
			assert.deepEqual(gs.map((g) => g.explore), [true], `prompt ${id}: one explore group`);
			explored.push(id);
		}
		// every unsolved prompt has one group so far: the first two in scattered order
		assert.deepEqual(explored.sort(), unsolved.slice(0, 2).sort(), 'the two explored prompts');

		// three asked (again: the fewest groups first) and the rest explored:
		// every unsolved prompt gets a group, the asked ones unmarked
		const before1 = await maxGroupId(srv, trainIds);
		j = await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, again: true, max_prompts: 3, explore: 100 }));
		const asked = [], marked = [];
		for (const id of trainIds) {
			for (const g of await jobGroups(srv, id, before1)) (g.explore ? marked : asked).push(id);
		}
		assert.equal(asked.length, 3, `asked ${asked}, explored ${marked}: ${JSON.stringify(j.metrics)}`);
		assert.ok(asked.every((id) => !explored.includes(id)), 'again asks the prompts with the fewest groups');
		assert.deepEqual(marked.sort(), unsolved.filter((id) => !asked.includes(id)).sort(),
			'every unsolved prompt not asked is explored, once');
		assert.equal(j.metrics.explore_prompts, marked.length);
		assert.equal(j.metrics.groups, asked.length + marked.length);

		// a higher bar: a 4 no longer counts as right
		const before2 = await maxGroupId(srv, trainIds);
		j = await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, explore: 100, min_score: 5 }));
		const want5 = trainIds.filter((id) => bestOf.has(id) && bestOf.get(id) < 5).length;
		assert.ok(want5 > unsolved.length, 'some prompt was rated 4 at best');
		assert.equal(j.metrics.explore_prompts, want5);
		for (const id of trainIds) {
			const gs = await jobGroups(srv, id, before2);
			assert.equal(gs.length, bestOf.has(id) && bestOf.get(id) < 5 ? 1 : 0, `prompt ${id}`);
		}

		// with prompt_ids too: those asked, unmarked, then the unsolved ones not among them
		const before25 = await maxGroupId(srv, trainIds);
		const named = [unsolved[0], trainIds.find((id) => !unsolved.includes(id))];
		j = await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, prompt_ids: named, explore: 100 }));
		for (const id of trainIds) {
			const gs = await jobGroups(srv, id, before25);
			const want = named.includes(id) ? [false] : unsolved.includes(id) ? [true] : [];
			assert.deepEqual(gs.map((g) => g.explore), want, `prompt ${id}`);
		}
		assert.equal(j.metrics.explore_prompts, unsolved.length - 1);

		// without explore, nothing is marked and no metric
		const before3 = await maxGroupId(srv, trainIds);
		j = await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, again: true, max_prompts: 2 }));
		assert.equal(j.metrics.explore_prompts, undefined);
		for (const id of trainIds) for (const g of await jobGroups(srv, id, before3)) assert.equal(g.explore, false);

		for (const [params, field] of [[{ explore: -1 }, 'explore'], [{ explore: 1.5 }, 'explore'],
			[{ explore: 'all' }, 'explore'], [{ min_score: 0 }, 'min_score'],
			[{ min_score: 6 }, 'min_score']]) {
			const r = await srv.admin.post('/api/generate', params);
			assertError(r, 400, JSON.stringify(params));
			assert.equal(r.json.error.field, field, JSON.stringify(params));
		}

		// the loop's setting: off by default (README, "explore"), checked as the job's parameter
		const cfg = (await srv.admin.get('/api/config')).json.auto_train;
		assert.equal(cfg.generate_explore, 0);
		const bad = await srv.admin.put('/api/config', { auto_train: { generate_explore: -1 } });
		assertError(bad, 400, 'generate_explore -1');
		assert.equal(bad.json.error.field, 'auto_train.generate_explore');
	} finally {
		await w.stop();
	}
});
