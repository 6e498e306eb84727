/*
 * tests/api/guidelines.test.mjs — the rating guidelines: admins write
 * versions (PUT /api/guidelines), raters read the one in force (GET /api/me,
 * GET /api/guidelines), and every rating stores the version in force when it
 * was saved (ratings.jsonl guideline_version; a re-rating takes the new one,
 * the superseded row keeps its own).  Bad input changes nothing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, assertError, exportedRatings, sqlite } from '../lib/fixtures.mjs';

test('versions: the newest is in force, in /api/me and on every rating saved while it is', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const G = await importGroup(srv, 'Capital of Peru?', ['Lima.', 'Cusco.'], 'train');
		const rate = async (who, scores) => {
			const r = await who.client.post('/api/ratings', { group_id: G.groupId, ratings: G.responseIds.map((id, i) => ({ response_id: id, score: scores[i] })) });
			assert.equal(r.status, 201, r.text);
		};
		// none written yet
		assert.equal((await ann.client.get('/api/me')).json.guidelines, null);
		assert.deepEqual((await ann.client.get('/api/guidelines')).json, { guidelines: null, versions: [] });
		await rate(ann, [5, 1]);

		const v1text = '# Rating\n\nPrefer **correct** answers.';
		const p1 = await srv.admin.put('/api/guidelines', { text: v1text });
		assert.equal(p1.status, 201, p1.text);
		assert.equal(p1.json.version, 1);
		assert.equal(p1.json.text, v1text);
		assert.equal(p1.json.author, 'admin');
		await rate(bob, [4, 2]);

		const v2text = 'Refuse harmful requests politely.\n\n- one\n- two';
		const p2 = await srv.admin.put('/api/guidelines', { text: v2text });
		assert.equal(p2.json.version, 2);
		const me = (await ann.client.get('/api/me')).json;
		assert.equal(me.guidelines.version, 2);
		assert.equal(me.guidelines.text, v2text);
		assert.match(me.guidelines.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
		const g = (await bob.client.get('/api/guidelines')).json;
		assert.equal(g.guidelines.version, 2);
		assert.deepEqual(g.versions.map((v) => [v.version, v.length, v.author]),
			[[2, Buffer.byteLength(v2text), 'admin'], [1, Buffer.byteLength(v1text), 'admin']]);
		await rate(ann, [4, 1]);   // ann again: her new ratings carry version 2

		// ann's ratings under 2 (her first ones, before any version, superseded), bob's under 1
		const lines = await exportedRatings(srv);
		assert.deepEqual(lines.map((l) => [l.rater, l.response_id, l.score, l.guideline_version]), [
			['ann', G.responseIds[0], 4, 2], ['bob', G.responseIds[0], 4, 1],
			['ann', G.responseIds[1], 1, 2], ['bob', G.responseIds[1], 2, 1],
		]);

		// an empty text is a version too: no guidelines from now on
		const p3 = await srv.admin.put('/api/guidelines', { text: '' });
		assert.equal(p3.status, 201, p3.text);
		assert.deepEqual([(await ann.client.get('/api/me')).json.guidelines.version, (await ann.client.get('/api/me')).json.guidelines.text], [3, '']);
		// the history keeps what each row was saved under: ann's first two (before any version) none
		// (python's sqlite3 last: a read of the file from outside can upset the server's export
		// connection, which later requests of a test would meet)
		const db = path.join(srv.dataDir, 'rlhfd.db');
		assert.equal(sqlite(db, `SELECT count(*) FROM ratings WHERE rater_id = ${ann.id} AND superseded_at IS NOT NULL AND guideline_version IS NULL`), '2');
	} finally { await srv.stop(); }
});

test('only admins write guidelines; bad input is refused and adds no version', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		assertError(await ann.client.put('/api/guidelines', { text: 'mine' }), 403, 'a rater writes');
		assertError(await srv.client(null).get('/api/guidelines'), 401, 'no token');
		for (const [body, what] of [[{}, 'no text'], [{ text: 5 }, 'a number'], [{ text: ['a'] }, 'an array'],
			[{ text: 'x'.repeat(100001) }, 'too long'], [{ text: 'a\u0000b' }, 'a NUL']]) {
			const r = await srv.admin.put('/api/guidelines', body);
			assertError(r, 400, what);
			if (what !== 'a NUL') assert.equal(r.json.error.field, 'text', what);   // NUL: refused by the JSON parser
		}
		assertError(await srv.admin.put('/api/guidelines', '{"text": "a", "text": "b"}', { raw: true }), 400, 'duplicate key');
		assertError(await srv.admin.put('/api/guidelines', '[1]', { raw: true }), 400, 'not an object');
		assert.deepEqual((await ann.client.get('/api/guidelines')).json, { guidelines: null, versions: [] });
		const ok = await srv.admin.put('/api/guidelines', { text: 'x'.repeat(100000) });
		assert.equal(ok.status, 201, 'exactly the limit');
		assert.equal(ok.json.version, 1);
	} finally { await srv.stop(); }
});
