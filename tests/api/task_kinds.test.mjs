/*
 * tests/api/task_kinds.test.mjs — task kinds (issue 10): a prompt's answers
 * scored 1-5, ranked, or compared two at a time.  /api/tasks/next says the
 * kind (the prompt's, else the config's task_kind) and, for a pair, which two
 * answers; POST /api/ratings takes "ranking" and "pair" and refuses bad ones
 * with a 4xx that changes nothing; and a ranking, a preference, a tie and
 * "both bad" give exactly the pairs the rules say (db/traindata.h) in
 * pairs.jsonl and in what the reward and DPO jobs train on.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseJsonl } from '../lib/server.mjs';
import { createRater, importGroup, assertError } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded } from '../lib/tiny_model.mjs';

const jsonl = async (srv, url) => {
	const r = await srv.admin.get(url);
	assert.equal(r.status, 200, `${url}: ${r.text.slice(0, 300)}`);
	return parseJsonl(r.text);
};

/* The pairs as [chosen, rejected, kind, margin, rater], sorted: the rules
 * fix which pairs there are, the order of the file is checked apart. */
const pairSet = (pairs) => pairs.map((p) => [p.chosen_id, p.rejected_id, p.kind, p.margin, p.rater_id])
	.sort((a, b) => a[0] - b[0] || a[1] - b[1]);

test('tasks/next says the kind: the config default, a prompt of its own, and for a pair the two answers', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		assert.equal((await srv.admin.get('/api/config')).json.task_kind, 'score');
		// three raters may hold the same group at once
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: 3 })).status, 200);
		const G = await importGroup(srv, 'Name a colour', ['red', 'blue', 'green', 'plain'], 'train');
		let t = (await ann.client.get('/api/tasks/next')).json.task;
		assert.equal(t.group_id, G.groupId);
		assert.equal(t.task_kind, 'score');
		assert.equal(t.pair, undefined);

		assertError(await srv.admin.put('/api/config', { task_kind: 'stars' }), 400, 'unknown kind');
		assertError(await srv.admin.put('/api/config', { task_kind: 2 }), 400, 'not a string');
		assert.equal((await srv.admin.put('/api/config', { task_kind: 'rank' })).status, 200);
		t = (await ann.client.get('/api/tasks/next')).json.task;
		assert.equal(t.task_kind, 'rank');
		assert.deepEqual(t.responses.map((x) => x.id).sort((a, b) => a - b), G.responseIds);

		assert.equal((await srv.admin.put('/api/config', { task_kind: 'pair' })).status, 200);
		t = (await ann.client.get('/api/tasks/next')).json.task;
		assert.equal(t.task_kind, 'pair');
		assert.equal(t.responses.length, 2);
		assert.deepEqual(t.pair, t.responses.map((x) => x.id));
		assert.equal(new Set(t.pair).size, 2);
		for (const id of t.pair) assert.ok(G.responseIds.includes(id));
		// the same two, in the same order, on a reload
		assert.deepEqual((await ann.client.get('/api/tasks/next')).json.task.pair, t.pair);

		// a prompt's own kind wins over the config's
		const p = await srv.admin.post('/api/prompts', { prompts: [{ text: 'Order these', task_kind: 'rank' }] });
		assert.equal(p.status, 201, p.text);
		assertError(await srv.admin.post('/api/prompts', { prompts: [{ text: 'x', task_kind: 'vote' }] }), 400, 'bad prompt kind');
		assert.equal((await srv.admin.get(`/api/prompts/${p.json.ids[0]}`)).json.task_kind, 'rank');
		assert.equal((await srv.admin.get(`/api/prompts/${G.promptId}`)).json.task_kind, null);
		const g2 = await srv.admin.post(`/api/prompts/${p.json.ids[0]}/responses`, { responses: [{ text: 'one' }, { text: 'two' }] });
		assert.equal(g2.status, 201, g2.text);
		const bob = await createRater(srv, 'bob');
		const seen = new Map();
		for (const ex of ['', `?exclude=${G.groupId}`]) {
			const task = (await bob.client.get('/api/tasks/next' + ex)).json.task;
			seen.set(task.group_id, task.task_kind);
		}
		assert.equal(seen.get(G.groupId), 'pair');
		assert.equal(seen.get(g2.json.group_id), 'rank');

		// a group of one answer has nothing to order: it is scored
		const S = await importGroup(srv, 'Alone', ['only'], 'train');
		const carl = await createRater(srv, 'carl');
		const single = (await carl.client.get(`/api/tasks/next?exclude=${G.groupId},${g2.json.group_id}`)).json.task;
		assert.equal(single.group_id, S.groupId);
		assert.equal(single.task_kind, 'score');
	} finally { await srv.stop(); }
});

test('bad rankings and preferences are 4xx errors that change nothing', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'Rank us', ['a', 'b', 'c'], 'train');
		const H = await importGroup(srv, 'Other', ['x', 'y'], 'train');
		const [a, b, c] = G.responseIds, [x] = H.responseIds;
		const post = (body) => ann.client.post('/api/ratings', { group_id: G.groupId, ...body });
		const field = async (body, status, f, what) => {
			const r = await post(body);
			assertError(r, status, what);
			if (f) assert.equal(r.json.error.field, f, what);
			return r;
		};
		let r = await field({ ranking: [a, [b]] }, 400, 'ranking', 'an answer left out');
		assert.match(r.json.error.message, new RegExp(`response ${c} of group ${G.groupId} is not ranked`));
		await field({ ranking: [a, [b, x], c] }, 400, 'ranking[1][1]', 'an answer of another group');
		await field({ ranking: [a, b, c, 999999] }, 404, null, 'an answer that does not exist');
		await field({ ranking: [a, [b, a], c] }, 400, 'ranking[1][1]', 'an answer twice');
		await field({ ranking: [a, [], b, c] }, 400, 'ranking[1]', 'an empty tier');
		await field({ ranking: [] }, 400, 'ranking', 'nothing ranked');
		await field({ ranking: [a, 'b', c] }, 400, 'ranking[1]', 'not an id');
		await field({ ranking: 'abc' }, 400, 'ranking', 'not an array');
		await field({ pair: { a, b, verdict: 'a', strength: 4 } }, 400, 'pair.strength', 'strength above 3');
		await field({ pair: { a, b, verdict: 'b', strength: 0 } }, 400, 'pair.strength', 'strength below 1');
		await field({ pair: { a, b, verdict: 'a' } }, 400, 'pair.strength', 'no strength');
		await field({ pair: { a, b, verdict: 'tie', strength: 2 } }, 400, 'pair.strength', 'strength on a tie');
		await field({ pair: { a, b, verdict: 'both' } }, 400, 'pair.verdict', 'unknown verdict');
		await field({ pair: { a, verdict: 'tie' } }, 400, 'pair.b', 'missing answer');
		await field({ pair: { a, b: a, verdict: 'tie' } }, 400, 'pair.b', 'the same answer twice');
		await field({ pair: { a, b: x, verdict: 'a', strength: 1 } }, 400, 'pair.b', 'an answer of another group');
		await field({ pair: { a: 999999, b, verdict: 'tie' } }, 404, null, 'an answer that does not exist');
		await field({ pair: [a, b] }, 400, 'pair', 'not an object');
		await field({ ranking: [a, b, c], pair: { a, b, verdict: 'tie' } }, 400, null, 'two kinds at once');
		assertError(await ann.client.post('/api/ratings', { group_id: 999999, ranking: [a] }), 404, 'no such group');
		assert.deepEqual(await jsonl(srv, '/api/export/pairs.jsonl'), []);
		// the group is still the rater's to do
		assert.equal((await ann.client.get('/api/tasks/next')).json.task.group_id, G.groupId);
	} finally { await srv.stop(); }
});

test('a ranking, a preference, a tie and "both bad" give exactly their pairs in pairs.jsonl', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const R = await importGroup(srv, 'Rank four', ['r1', 'r2', 'r3', 'r4'], 'train');
		const P = await importGroup(srv, 'Compare two', ['p1', 'p2', 'p3'], 'train');
		const T = await importGroup(srv, 'Tie two', ['t1', 't2'], 'train');
		const B = await importGroup(srv, 'Both bad', ['b1', 'b2'], 'train');
		const E = await importGroup(srv, 'Eval rank', ['e1', 'e2'], 'eval');
		const [r1, r2, r3, r4] = R.responseIds, [p1, p2] = P.responseIds;
		const ok = async (rater, body) => {
			const r = await rater.client.post('/api/ratings', body);
			assert.equal(r.status, 201, r.text);
			return r.json;
		};
		// r3 best, r1 and r4 tied second, r2 last: tiers 3, 2, 1
		assert.deepEqual(await ok(ann, { group_id: R.groupId, ranking: [r3, [r1, r4], [r2]] }),
			{ saved: 4, group_id: R.groupId, kind: 'rank' });
		await ok(ann, { group_id: P.groupId, pair: { a: p1, b: p2, verdict: 'b', strength: 2 } });
		await ok(ann, { group_id: T.groupId, pair: { a: T.responseIds[0], b: T.responseIds[1], verdict: 'tie' } });
		await ok(ann, { group_id: B.groupId, pair: { a: B.responseIds[0], b: B.responseIds[1], verdict: 'both_bad', strength: null } });
		await ok(bob, { group_id: E.groupId, ranking: [E.responseIds[1], E.responseIds[0]] });

		// ranking: every pair of different tiers, the tiers apart the margin; none
		// between the tied r1 and r4.  Preference: p2 over p1, margin 2.  Tie and
		// both bad: none.
		const expectTrain = [
			[r3, r1, 'rank', 1, ann.id], [r3, r2, 'rank', 2, ann.id], [r3, r4, 'rank', 1, ann.id],
			[r1, r2, 'rank', 1, ann.id], [r4, r2, 'rank', 1, ann.id],
			[p2, p1, 'pair', 2, ann.id],
		].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
		const train = await jsonl(srv, '/api/export/pairs.jsonl?split=train');
		assert.deepEqual(pairSet(train), expectTrain);
		// judgement by judgement, within one by answer id: i < j, the higher chosen
		assert.deepEqual(train.map((p) => [p.chosen_id, p.rejected_id]), orderOf(R.responseIds, r3, r1, r4, r2, p1, p2));
		const row = train.find((p) => p.kind === 'pair');
		assert.equal(row.chosen, 'p2');
		assert.equal(row.rejected, 'p1');
		assert.equal(row.prompt, 'Compare two');
		assert.equal(row.score_chosen, null);
		assert.equal(row.score_rejected, null);
		const all = await jsonl(srv, '/api/export/pairs.jsonl');
		assert.deepEqual(pairSet(all), [...expectTrain, [E.responseIds[1], E.responseIds[0], 'rank', 1, bob.id]]
			.sort((x, y) => x[0] - y[0] || x[1] - y[1]));
		// ann reads her judgements back (the rate page's "previous"), newest first
		const mine = (await ann.client.get('/api/ratings/mine')).json.groups;
		assert.deepEqual(mine.map((g) => g.group_id), [B.groupId, T.groupId, P.groupId, R.groupId]);
		assert.deepEqual(mine[3].judgement, { kind: 'rank', verdict: null, strength: null, items: [
			{ response_id: r3, place: 1, level: 3 },
			...[r1, r4].sort((x, y) => x - y).map((id) => ({ response_id: id, place: 2, level: 2 })),
			{ response_id: r2, place: 3, level: 1 }] });
		assert.deepEqual(mine[2].judgement, { kind: 'pair', verdict: 'b', strength: 2, items: [
			{ response_id: p1, place: 1, level: 0 }, { response_id: p2, place: 2, level: 2 }] });
		assert.deepEqual(mine[0].judgement.verdict, 'both_bad');
		assert.deepEqual(mine[0].ratings, []);
		const page1 = (await ann.client.get('/api/ratings/mine?limit=3')).json;
		const page2 = (await ann.client.get(`/api/ratings/mine?limit=3&before=${page1.next_before}`)).json;
		assert.deepEqual(page2.groups.map((g) => g.group_id), [R.groupId]);
		// two raters who agree: no group has two
		assert.deepEqual(await jsonl(srv, '/api/export/pairs.jsonl?min_raters=2'), []);

		// scores and judgements side by side: bob scores R; his pairs are the scores'
		await ok(bob, { group_id: R.groupId, ratings: [{ response_id: r1, score: 5 }, { response_id: r2, score: 1 }] });
		const mixed = await jsonl(srv, '/api/export/pairs.jsonl?split=train');
		assert.deepEqual(mixed[0], { ...mixed[0], chosen_id: r1, rejected_id: r2, kind: 'score', margin: 4,
			rater_id: null, score_chosen: 5, score_rejected: 1 });
		assert.deepEqual(pairSet(mixed.slice(1)), expectTrain);

		// judging again replaces the rater's judgement: r2 now best, the rest tied
		await ok(ann, { group_id: R.groupId, ranking: [[r2], [r1, r3, r4]] });
		const again = (await jsonl(srv, '/api/export/pairs.jsonl?split=train')).filter((p) => p.kind === 'rank');
		assert.deepEqual(pairSet(again), [[r2, r1, 'rank', 1, ann.id], [r2, r3, 'rank', 1, ann.id], [r2, r4, 'rank', 1, ann.id]]);
		// and a judged group is not handed out again
		assert.equal((await ann.client.get('/api/tasks/next')).status, 204);
	} finally { await srv.stop(); }
});

test('with --durability normal (no group-commit writer) a ranking and a refused one behave the same', async () => {
	const srv = await startServer({ args: ['--durability', 'normal'] });
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'Rank', ['a', 'b', 'c'], 'train');
		const [a, b, c] = G.responseIds;
		const bad = await ann.client.post('/api/ratings', { group_id: G.groupId, ranking: [a, b] });
		assertError(bad, 400, 'an answer left out');
		assert.match(bad.json.error.message, new RegExp(`response ${c} of group`));
		assert.deepEqual(await jsonl(srv, '/api/export/pairs.jsonl'), []);
		const r = await ann.client.post('/api/ratings', { group_id: G.groupId, ranking: [[b, c], a] });
		assert.equal(r.status, 201, r.text);
		assert.deepEqual(pairSet(await jsonl(srv, '/api/export/pairs.jsonl')),
			[[b, a, 'rank', 1, ann.id], [c, a, 'rank', 1, ann.id]]);
	} finally { await srv.stop(); }
});

/* The file's order for the ranking [r3, [r1, r4], r2] and the preference p2 >
 * p1: the judgement's answers by id (r1 < r2 < r3 < r4), every i < j with
 * different levels, the higher first; then the preference. */
function orderOf(rIds, r3, r1, r4, r2, p1, p2) {
	const level = new Map([[r3, 3], [r1, 2], [r4, 2], [r2, 1]]);
	const ids = [...rIds].sort((x, y) => x - y);
	const out = [];
	for (let i = 0; i < ids.length; i++)
		for (let j = i + 1; j < ids.length; j++) {
			const li = level.get(ids[i]), lj = level.get(ids[j]);
			if (li !== lj) out.push(li > lj ? [ids[i], ids[j]] : [ids[j], ids[i]]);
		}
	out.push([p2, p1]);
	return out;
}

let tiny;
before(() => { tiny = makeTinyModel(); });
after(() => tiny?.cleanup());

test('the reward and DPO jobs train on exactly the pairs a ranking and a preference give, with no scores at all', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const ann = await createRater(srv, 'ann');
		const R = await importGroup(srv, 'Tell me a colour', ['Red.', 'Blue.', 'Green.'], 'train');
		const P = await importGroup(srv, 'Tell me a number', ['Three.', 'Seven.'], 'train');
		const T = await importGroup(srv, 'Tell me a day', ['Monday.', 'Friday.'], 'train');
		const [c1, c2, c3] = R.responseIds, [n1, n2] = P.responseIds;
		for (const body of [
			{ group_id: R.groupId, ranking: [c2, c1, c3] },                       // 3 pairs
			{ group_id: P.groupId, pair: { a: n1, b: n2, verdict: 'a', strength: 3 } }, // 1 pair
			{ group_id: T.groupId, pair: { a: T.responseIds[0], b: T.responseIds[1], verdict: 'tie' } }, // none
		]) {
			const r = await ann.client.post('/api/ratings', body);
			assert.equal(r.status, 201, r.text);
		}
		const pairs = await jsonl(srv, '/api/export/pairs.jsonl?split=train');
		assert.deepEqual(pairSet(pairs), [[c2, c1, 'rank', 1, ann.id], [c2, c3, 'rank', 2, ann.id],
			[c1, c3, 'rank', 1, ann.id], [n1, n2, 'pair', 3, ann.id]].sort((x, y) => x[0] - y[0] || x[1] - y[1]));

		// no score anywhere: the judgements alone are the reward model's data
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1, heldout_frac: 0 }));
		assert.equal(rj.metrics.train_pairs + rj.metrics.heldout_pairs, 4, 'the pairs the reward trainer forms');
		assert.equal(rj.metrics.judgements, 2, 'the ranking and the preference; the tie has no pair');
		assert.equal(rj.metrics.groups, 2);
		assert.equal(rj.metrics.answers, 5);
		assert.deepEqual([...rj.metrics.train_prompt_ids].sort((a, b) => a - b), [R.promptId, P.promptId].sort((a, b) => a - b));

		const dj = await jobSucceeded(srv, await submitJob(srv, 'dpo', { epochs: 1 }));
		assert.equal(dj.metrics.pairs, pairs.length, 'dpo pairs = pairs.jsonl?split=train');
		assert.equal(dj.metrics.judgement_pairs, 4);
	} finally { await w.stop(); }
});
