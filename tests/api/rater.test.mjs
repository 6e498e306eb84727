/*
 * tests/api/rater.test.mjs — the rater's whole flow: next task (shuffled per
 * rater, no model names), rating, 204 when done, skip, lease expiry,
 * ratings_per_group, re-rating with history, progress counts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, sleep } from '../lib/server.mjs';
import { createRater, importGroup, exportedRatings, assertError, sqlite } from '../lib/fixtures.mjs';

function checkTask(t, group) {
	assert.equal(t.group_id, group.groupId);
	assert.equal(t.prompt_id, group.promptId);
	assert.equal(t.prompt, group.prompt);
	assert.ok(t.lease_expires_at !== undefined && t.lease_expires_at !== null, 'lease_expires_at');
	assert.deepEqual(t.responses.map((r) => r.id).sort((a, b) => a - b), [...group.responseIds].sort((a, b) => a - b));
	for (const r of t.responses) {
		assert.ok(Number.isInteger(r.id) && typeof r.text === 'string');
		assert.deepEqual(Object.keys(r).filter((k) => /model/i.test(k)), [], 'no model fields in an answer');
		assert.equal(r.text, group.texts[group.responseIds.indexOf(r.id)]);
	}
}

test('next → rate → next … → 204; answers without model names; progress counts', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const groups = [];
		for (let i = 0; i < 3; i++)
			groups.push(await importGroup(srv, `prompt ${i}`, [{ text: `a${i}`, model: 'secret-model-alpha' }, { text: `b${i}`, model: 'secret-model-beta' }, { text: `c${i}` }]));

		const me0 = (await ann.client.get('/api/me')).json;
		assert.equal(me0.rated_today, 0);
		assert.equal(me0.remaining, 3);

		const served = [];
		for (let i = 0; i < 3; i++) {
			const r = await ann.client.get('/api/tasks/next');
			assert.equal(r.status, 200, r.text);
			assert.ok(!/secret-model|model_id|"model"/.test(r.text), `no model names in a task: ${r.text}`);
			const t = r.json.task;
			const g = groups.find((x) => x.groupId === t.group_id);
			assert.ok(g, 'a group that exists');
			assert.ok(!served.includes(g.groupId), 'never the same group twice');
			checkTask(t, g);
			assert.equal(typeof r.json.progress, 'object');
			served.push(g.groupId);
			const scores = t.responses.map((x, k) => ({ response_id: x.id, score: ((i + k) % 5) + 1 }));
			const s = await ann.client.post('/api/ratings', { group_id: t.group_id, ratings: scores });
			assert.equal(s.status, 201, s.text);
			assert.equal(s.json.saved, 3);
			const me = (await ann.client.get('/api/me')).json;
			assert.equal(me.remaining, 2 - i, 'remaining drops by one group per rated group');
			assert.ok(me.rated_today > 0);
		}
		const done = await ann.client.get('/api/tasks/next');
		assert.equal(done.status, 204);
		assert.equal(done.text, '');
		assert.equal((await ann.client.get('/api/me')).json.remaining, 0);
		// rated_today counts ratings (9) or groups (3); either way it is what was just done.
		assert.ok([3, 9].includes((await ann.client.get('/api/me')).json.rated_today));
		assert.equal((await exportedRatings(srv)).length, 9);
	} finally { await srv.stop(); }
});

test('answers are shuffled per rater', async () => {
	const srv = await startServer();
	try {
		const texts = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
		const g = await importGroup(srv, 'shuffle me', texts);
		const n = 6;
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: n })).status, 200);
		const orders = [];
		for (let i = 0; i < n; i++) {
			const r = await createRater(srv, `r${i}`);
			const t = (await r.client.get('/api/tasks/next')).json.task;
			checkTask(t, g);
			orders.push(t.responses.map((x) => x.id).join(','));
			// The same rater asking again (lease still held) or re-reading gets a consistent set.
		}
		const insertion = g.responseIds.join(',');
		// With 6! = 720 orders, six raters all seeing one order (or all the insertion
		// order) by chance has probability 720^-5; either means no per-rater shuffle.
		assert.ok(new Set(orders).size > 1, `every rater saw the same order ${orders[0]}`);
		assert.ok(orders.some((o) => o !== insertion), 'some rater sees a non-insertion order');
	} finally { await srv.stop(); }
});

test('skip: the skipped group is not handed to that rater again, but is to others', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const bob = await createRater(srv, 'bob');
		const g1 = await importGroup(srv, 'p1', ['x1', 'y1']);
		const g2 = await importGroup(srv, 'p2', ['x2', 'y2']);
		const t1 = (await ann.client.get('/api/tasks/next')).json.task;
		const sk = await ann.client.post(`/api/tasks/${t1.group_id}/skip`, {});
		assert.equal(sk.status, 200, sk.text);
		assert.equal(sk.json.skipped, true);
		const t2 = (await ann.client.get('/api/tasks/next')).json.task;
		assert.notEqual(t2.group_id, t1.group_id);
		const sk2 = await ann.client.post(`/api/tasks/${t2.group_id}/skip`, {});
		assert.equal(sk2.status, 200);
		assert.equal((await ann.client.get('/api/tasks/next')).status, 204, 'both skipped → nothing left for ann');
		assert.equal((await ann.client.get('/api/me')).json.remaining, 0);
		// Skipping released the lease: bob gets both groups.
		const b1 = (await bob.client.get('/api/tasks/next')).json.task;
		await bob.client.post('/api/ratings', { group_id: b1.group_id, ratings: b1.responses.map((r) => ({ response_id: r.id, score: 3 })) });
		const b2 = (await bob.client.get('/api/tasks/next')).json.task;
		assert.deepEqual([b1.group_id, b2.group_id].sort(), [g1.groupId, g2.groupId].sort());
		// Skipping stores no rating.
		assert.equal((await exportedRatings(srv)).filter((l) => l.rater === 'ann' || l.rater === ann.id).length, 0);
		// A skipped group may still be rated by id (only /api/tasks/next is governed).
		const late = await ann.client.post('/api/ratings', { group_id: g1.groupId, ratings: [{ response_id: g1.responseIds[0], score: 4 }] });
		assert.equal(late.status, 201, late.text);
		assertError(await ann.client.post('/api/tasks/999999/skip', {}), 404, 'skip unknown group');
	} finally { await srv.stop(); }
});

test('lease expiry: an unrated lease goes back to the pool after lease_seconds', async () => {
	const srv = await startServer();
	try {
		// 2 s, not 1: leases are whole seconds, and a 1 s lease taken just before a
		// second boundary could look expired to the very next request.
		assert.equal((await srv.admin.put('/api/config', { lease_seconds: 2 })).status, 200);
		const ann = await createRater(srv, 'ann');
		const bob = await createRater(srv, 'bob');
		const g = await importGroup(srv, 'only one', ['u', 'v']);
		const a = await ann.client.get('/api/tasks/next');
		assert.equal(a.json.task.group_id, g.groupId);
		const le = a.json.task.lease_expires_at;
		const exp = typeof le === 'number' ? le * 1000 : Date.parse(le);
		assert.ok(exp > Date.now() - 1000 && exp <= Date.now() + 3000, `lease_expires_at ${le} is about 2 s ahead`);
		assert.equal((await bob.client.get('/api/tasks/next')).status, 204, 'leased to ann: nothing for bob');
		await sleep(3100);
		const b = await bob.client.get('/api/tasks/next');
		assert.equal(b.status, 200, 'lease expired: bob gets it');
		assert.equal(b.json.task.group_id, g.groupId);
		// ann's rating by id still counts (any rater may rate any group by id).
		const r = await ann.client.post('/api/ratings', { group_id: g.groupId, ratings: [{ response_id: g.responseIds[0], score: 2 }] });
		assert.equal(r.status, 201);
	} finally { await srv.stop(); }
});

test('ratings_per_group=2 hands a group to two raters, never twice to one', async () => {
	const srv = await startServer();
	try {
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: 2 })).status, 200);
		const [ann, bob, cy] = [await createRater(srv, 'ann'), await createRater(srv, 'bob'), await createRater(srv, 'cy')];
		const g = await importGroup(srv, 'double', ['one', 'two']);
		const ta = (await ann.client.get('/api/tasks/next')).json.task;
		const tb = (await bob.client.get('/api/tasks/next')).json.task;
		assert.equal(ta.group_id, g.groupId);
		assert.equal(tb.group_id, g.groupId);
		assert.equal((await cy.client.get('/api/tasks/next')).status, 204, 'two leases out: not for a third rater');
		const rate = (who, t) => who.client.post('/api/ratings', { group_id: t.group_id, ratings: t.responses.map((r) => ({ response_id: r.id, score: 4 })) });
		assert.equal((await rate(ann, ta)).status, 201);
		assert.equal((await ann.client.get('/api/tasks/next')).status, 204, 'never twice to ann');
		assert.equal((await rate(bob, tb)).status, 201);
		assert.equal((await bob.client.get('/api/tasks/next')).status, 204, 'never twice to bob');
		assert.equal((await cy.client.get('/api/tasks/next')).status, 204, 'two raters done: group is full');
		const g2 = await importGroup(srv, 'second', ['three']);
		const tc = (await cy.client.get('/api/tasks/next')).json.task;
		assert.equal(tc.group_id, g2.groupId);
	} finally { await srv.stop(); }
});

function dbFile(dir) {
	const f = readdirSync(dir).find((x) => /\.(db|sqlite3?)$/.test(x));
	return f ? path.join(dir, f) : null;
}

test('re-rating replaces the current rating and keeps the history', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const g = await importGroup(srv, 'again', ['first answer', 'second answer']);
		const post = (score, extra = {}) => ann.client.post('/api/ratings', { group_id: g.groupId, ratings: [{ response_id: g.responseIds[0], score, ...extra }] });
		assert.equal((await post(2, { comment: 'meh' })).status, 201);
		assert.equal((await post(5)).status, 201);
		const lines = await exportedRatings(srv);
		assert.equal(lines.length, 1, 'one current rating');
		assert.equal(lines[0].score, 5);
		assert.equal(lines[0].comment ?? null, null, 'the replacement is a whole new rating');
		const st = (await srv.admin.get('/api/stats')).json;
		assert.equal(st.ratings, 1);
		assert.deepEqual(st.score_histogram, [0, 0, 0, 0, 1]);
		const d = (await srv.admin.get(`/api/prompts/${g.promptId}`)).json;
		const resp = d.responses.find((r) => r.id === g.responseIds[0]);
		assert.equal(resp.ratings.length, 1);
		assert.equal(resp.mean_score, 5);
		// History: the database keeps the superseded row (schema: migrations/0001_init.sql).
		const db = dbFile(srv.dataDir);
		assert.ok(db, `a database file in ${srv.dataDir}`);
		const rows = sqlite(db, `SELECT score, superseded_at IS NOT NULL FROM ratings WHERE response_id = ${g.responseIds[0]} ORDER BY id`);
		assert.equal(rows, '2|1\n5|0');
	} finally { await srv.stop(); }
});

/*
 * rate.html preloads the next task while the current one is being rated, and
 * /api/tasks/next hands a rater the lease it already holds — so the page asks for
 * `?exclude=<group it shows>` (API.md, "Additions"; web/js/rate.js startPreload).
 */
test('preloading: next?exclude=<held group> leases a different group; after rating, next gives that one', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const bob = await createRater(srv, 'bob');
		const g1 = await importGroup(srv, 'pre 1', ['a1', 'b1']);
		const g2 = await importGroup(srv, 'pre 2', ['a2', 'b2']);
		const t1 = (await ann.client.get('/api/tasks/next')).json.task;
		assert.equal((await ann.client.get('/api/tasks/next')).json.task.group_id, t1.group_id, 'the held lease is handed again');
		const pre = await ann.client.get(`/api/tasks/next?exclude=${t1.group_id}`);
		assert.equal(pre.status, 200, pre.text);
		assert.notEqual(pre.json.task.group_id, t1.group_id, 'exclude gives another group');
		assert.deepEqual([t1.group_id, pre.json.task.group_id].sort(), [g1.groupId, g2.groupId].sort());
		assert.equal((await bob.client.get('/api/tasks/next')).status, 204, 'both groups are leased to ann');
		const done = await ann.client.post('/api/ratings', { group_id: t1.group_id, ratings: t1.responses.map((r) => ({ response_id: r.id, score: 2 })) });
		assert.equal(done.status, 201);
		assert.equal((await ann.client.get('/api/tasks/next')).json.task.group_id, pre.json.task.group_id, 'the preloaded lease comes next');
		assert.equal((await ann.client.get(`/api/tasks/next?exclude=${pre.json.task.group_id}`)).status, 204, 'nothing else left');
	} finally { await srv.stop(); }
});
