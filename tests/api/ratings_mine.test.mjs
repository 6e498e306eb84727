/*
 * tests/api/ratings_mine.test.mjs — GET /api/ratings/mine: the caller's rated
 * groups newest first with their current ratings (re-rating replaces them and
 * moves the group to the front), pages with limit/before, only the caller's
 * own, answers in the caller's task order, 4xx for bad parameters and auth;
 * plus GET /api/stats' auto_train countdown.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, assertError } from '../lib/fixtures.mjs';

async function rate(rater, groupId, ratings) {
	const r = await rater.client.post('/api/ratings', { group_id: groupId, ratings });
	assert.equal(r.status, 201, r.text);
}

test('newest first, current ratings, re-rating replaces and moves to the front, pages', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const bob = await createRater(srv, 'bob');
		const G = [];
		for (let i = 0; i < 3; i++) G.push(await importGroup(srv, `prompt ${i}`, [`a${i}`, `b${i}`, `c${i}`]));

		const empty = await ann.client.get('/api/ratings/mine');
		assert.equal(empty.status, 200, empty.text);
		assert.deepEqual(empty.json, { groups: [], next_before: null });

		for (let i = 0; i < 3; i++)
			await rate(ann, G[i].groupId, G[i].responseIds.map((id, k) => ({ response_id: id, score: k + 1 })));
		// bob's ratings never show in ann's list
		await rate(bob, G[1].groupId, G[1].responseIds.map((id) => ({ response_id: id, score: 5 })));

		let r = await ann.client.get('/api/ratings/mine');
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.json.groups.map((g) => g.group_id), [G[2].groupId, G[1].groupId, G[0].groupId]);
		assert.equal(r.json.next_before, null);
		const g0 = r.json.groups[2];
		assert.equal(g0.prompt, 'prompt 0');
		assert.equal(g0.prompt_id, G[0].promptId);
		assert.match(g0.rated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
		assert.deepEqual(g0.responses.map((x) => x.id).sort((a, b) => a - b), G[0].responseIds);
		for (const x of g0.responses) assert.equal(x.text, G[0].texts[G[0].responseIds.indexOf(x.id)]);
		assert.deepEqual(g0.ratings.map((x) => [x.response_id, x.score]), G[0].responseIds.map((id, k) => [id, k + 1]));
		assert.deepEqual(Object.keys(g0.ratings[0]).sort(),
			['comment', 'created_at', 'flags', 'harmless', 'helpful', 'honest', 'response_id', 'score']);

		// the answers come in the same order /api/tasks/next showed ann
		const fresh = await importGroup(srv, 'order check', ['p', 'q', 'r', 's', 't', 'u']);
		const t = (await ann.client.get('/api/tasks/next')).json.task;
		assert.equal(t.group_id, fresh.groupId);
		await rate(ann, fresh.groupId, t.responses.map((x) => ({ response_id: x.id, score: 3 })));
		r = await ann.client.get('/api/ratings/mine?limit=1');
		assert.deepEqual(r.json.groups[0].responses.map((x) => x.id), t.responses.map((x) => x.id));

		// re-rating group 0 replaces ann's ratings and moves it to the front
		await rate(ann, G[0].groupId, [{ response_id: G[0].responseIds[0], score: 5, helpful: 4, comment: 'changed', flags: ['unsafe'] }]);
		r = await ann.client.get('/api/ratings/mine');
		assert.deepEqual(r.json.groups.map((g) => g.group_id), [G[0].groupId, fresh.groupId, G[2].groupId, G[1].groupId]);
		const first = r.json.groups[0].ratings.find((x) => x.response_id === G[0].responseIds[0]);
		assert.deepEqual([first.score, first.helpful, first.honest, first.comment, first.flags], [5, 4, null, 'changed', ['unsafe']]);
		assert.equal(r.json.groups[0].ratings.length, 3, 'one current rating per answer');

		// pages of 2: 2 + 2, then nothing
		const seen = [];
		let before = null;
		for (let page = 0; page < 4; page++) {
			const q = new URLSearchParams({ limit: '2' });
			if (before !== null) q.set('before', String(before));
			const p = await ann.client.get(`/api/ratings/mine?${q}`);
			assert.equal(p.status, 200, p.text);
			seen.push(...p.json.groups.map((g) => g.group_id));
			before = p.json.next_before;
			if (before === null) break;
			assert.ok(Number.isInteger(before) && before > 0);
		}
		assert.deepEqual(seen, [G[0].groupId, fresh.groupId, G[2].groupId, G[1].groupId]);

		// bob sees only his own
		r = await bob.client.get('/api/ratings/mine');
		assert.deepEqual(r.json.groups.map((g) => g.group_id), [G[1].groupId]);
		assert.ok(r.json.groups[0].ratings.every((x) => x.score === 5));
	} finally { await srv.stop(); }
});

test('bad parameters are 400 with the field; no auth 401; other methods 405', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		for (const q of ['limit=0', 'limit=51', 'limit=x', 'limit=', 'limit=1.5', 'before=0', 'before=-3', 'before=abc',
			'before=99999999999999999999999']) {
			const r = await ann.client.get(`/api/ratings/mine?${q}`);
			assertError(r, 400, q);
			assert.equal(r.json.error.field, q.split('=')[0], q);
		}
		assert.equal((await ann.client.get('/api/ratings/mine?limit=50&before=1')).status, 200);
		assertError(await srv.client(null).get('/api/ratings/mine'), 401, 'no token');
		assertError(await srv.client('nope').get('/api/ratings/mine'), 401, 'bad token');
		assertError(await ann.client.post('/api/ratings/mine', {}), 405, 'POST');
	} finally { await srv.stop(); }
});

test('stats.auto_train counts the ratings left before the next round', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const put = await srv.admin.put('/api/config', { auto_train: { reward_every_n_ratings: 5 } });
		assert.equal(put.status, 200, put.text);
		let st = (await srv.admin.get('/api/stats')).json.auto_train;
		assert.deepEqual(st, { enabled: false, every: 5, since_last: 0, remaining: 5, busy: false });
		const G = await importGroup(srv, 'p', ['a', 'b', 'c']);
		await rate(ann, G.groupId, G.responseIds.map((id) => ({ response_id: id, score: 2 })));
		st = (await srv.admin.get('/api/stats')).json.auto_train;
		assert.equal(st.since_last, 3);
		assert.equal(st.remaining, 2);
		// re-rating supersedes: still three current ratings
		await rate(ann, G.groupId, G.responseIds.map((id) => ({ response_id: id, score: 4 })));
		assert.equal((await srv.admin.get('/api/stats')).json.auto_train.remaining, 2);
		const H = await importGroup(srv, 'q', ['a', 'b', 'c']);
		await rate(ann, H.groupId, H.responseIds.map((id) => ({ response_id: id, score: 2 })));
		st = (await srv.admin.get('/api/stats')).json.auto_train;
		assert.deepEqual([st.since_last, st.remaining], [5, 0]);
		assertError(await ann.client.get('/api/stats'), 403, 'rater');
	} finally { await srv.stop(); }
});
