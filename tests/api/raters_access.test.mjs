/*
 * tests/api/raters_access.test.mjs — access that can be taken back: disabling
 * a rater cuts their token and their browser sessions at once (their ratings
 * stay), a new token kills the old one at once, rater names are unique, and
 * the last enabled admin cannot be disabled.  "At once" is checked right after
 * a successful call by the same token, so a cached lookup would be caught.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, assertError, exportedRatings } from '../lib/fixtures.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

async function login(token) {
	const r = await srv.client(null).post('/api/login', { token });
	assert.equal(r.status, 200, r.text);
	return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: r.json.csrf_token };
}

test('disabling a rater cuts their token and sessions at once; their ratings stay; enabling restores the token', async () => {
	const ann = await createRater(srv, 'ann-disable');
	const g = await importGroup(srv, 'disable prompt', ['one', 'two']);
	assert.equal((await ann.client.post('/api/ratings', { group_id: g.groupId, ratings: [{ response_id: g.responseIds[0], score: 4 }] })).status, 201);
	const s = await login(ann.token);
	const anon = srv.client(null);
	assert.equal((await ann.client.get('/api/me')).status, 200, 'token works (and is now cached)');
	assert.equal((await anon.get('/api/me', { headers: { Cookie: s.cookie } })).status, 200);

	const d = await srv.admin.call('PATCH', `/api/raters/${ann.id}`, { disabled: true });
	assert.equal(d.status, 200, d.text);
	assert.deepEqual(d.json, { id: ann.id, name: 'ann-disable', role: 'rater', disabled: true });
	assertError(await ann.client.get('/api/me'), 401, 'disabled token');
	assertError(await ann.client.post('/api/ratings', { group_id: g.groupId, ratings: [{ response_id: g.responseIds[1], score: 2 }] }), 401, 'disabled token rating');
	assertError(await anon.get('/api/me', { headers: { Cookie: s.cookie } }), 401, 'disabled session');
	assertError(await anon.post('/api/login', { token: ann.token }), 401, 'disabled login');

	const mine = (await exportedRatings(srv)).filter((x) => x.rater === 'ann-disable');
	assert.equal(mine.length, 1, 'the rating stays');
	const listed = (await srv.admin.get('/api/raters')).json.raters.find((x) => x.id === ann.id);
	assert.equal(listed.disabled, true);
	assert.equal(listed.ratings, 1);

	const e = await srv.admin.call('PATCH', `/api/raters/${ann.id}`, { disabled: false });
	assert.equal(e.status, 200);
	assert.equal(e.json.disabled, false);
	assert.equal((await ann.client.get('/api/me')).status, 200, 'enabled again');
	assertError(await anon.get('/api/me', { headers: { Cookie: s.cookie } }), 401, 'old sessions stay ended');
});

test('a new token kills the old one at once and is shown once', async () => {
	const bob = await createRater(srv, 'bob-rotate');
	assert.equal((await bob.client.get('/api/me')).status, 200);
	const r = await srv.admin.post(`/api/raters/${bob.id}/token`, {});
	assert.equal(r.status, 200, r.text);
	assert.match(r.json.token, /^[0-9a-f]{64}$/);
	assert.notEqual(r.json.token, bob.token);
	assertError(await bob.client.get('/api/me'), 401, 'old token');
	const fresh = srv.client(r.json.token);
	const me = await fresh.get('/api/me');
	assert.equal(me.status, 200);
	assert.equal(me.json.name, 'bob-rotate');
	// the token is not shown again anywhere
	assert.ok(!JSON.stringify((await srv.admin.get('/api/raters')).json).includes(r.json.token));
	assertError(await srv.admin.post('/api/raters/999999/token', {}), 404, 'unknown rater');
});

test('rater names are unique: create and rename to a taken name are 409 and change nothing', async () => {
	await createRater(srv, 'cara');
	const dup = await srv.admin.post('/api/raters', { name: 'cara', role: 'rater' });
	assertError(dup, 409, 'second cara');
	const dan = await createRater(srv, 'dan');
	assertError(await srv.admin.call('PATCH', `/api/raters/${dan.id}`, { name: 'cara' }), 409, 'rename to cara');
	const names = (await srv.admin.get('/api/raters')).json.raters.map((x) => x.name);
	assert.equal(names.filter((n) => n === 'cara').length, 1);
	assert.ok(names.includes('dan'));
	const ok = await srv.admin.call('PATCH', `/api/raters/${dan.id}`, { name: 'dan2' });
	assert.equal(ok.status, 200);
	assert.equal(ok.json.name, 'dan2');
});

test('bad PATCH bodies are 400, unknown ids 404, and the last enabled admin cannot be disabled (409)', async () => {
	const ed = await createRater(srv, 'ed-bad');
	assertError(await srv.admin.call('PATCH', `/api/raters/${ed.id}`, { disabled: 'yes' }), 400, 'disabled not bool');
	assertError(await srv.admin.call('PATCH', `/api/raters/${ed.id}`, { name: '' }), 400, 'empty name');
	assertError(await srv.admin.call('PATCH', `/api/raters/${ed.id}`, { role: 'admin' }), 400, 'role is not changeable');
	assertError(await srv.admin.call('PATCH', '/api/raters/999999', { disabled: true }), 404, 'unknown id');
	assertError(await ed.client.call('PATCH', `/api/raters/${ed.id}`, { disabled: false }), 403, 'a rater may not');
	const admins = (await srv.admin.get('/api/raters')).json.raters.filter((x) => x.role === 'admin' && !x.disabled);
	assert.equal(admins.length, 1);
	assertError(await srv.admin.call('PATCH', `/api/raters/${admins[0].id}`, { disabled: true }), 409, 'last admin');
	assert.equal((await srv.admin.get('/api/stats')).status, 200, 'the admin still works');
});
