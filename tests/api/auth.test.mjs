/*
 * tests/api/auth.test.mjs — start-up admin (RLHFD_ADMIN_TOKEN or a generated
 * token in <data>/admin.token, mode 0600), bearer tokens, the browser session
 * (login cookie, CSRF on state-changing requests, logout) and roles.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { createRater, assertError, snapshot, assertUnchanged } from '../lib/fixtures.mjs';

test('healthz answers {"ok": true} without auth', async () => {
	const srv = await startServer();
	try {
		const r = await srv.client(null).get('/healthz');
		assert.equal(r.status, 200);
		assert.equal(r.json.ok, true);
	} finally { await srv.stop(); }
});

test('RLHFD_ADMIN_TOKEN is the admin token; other tokens are refused', async () => {
	const srv = await startServer();
	try {
		const ok = await srv.admin.get('/api/raters');
		assert.equal(ok.status, 200, ok.text);
		const admins = ok.json.raters.filter((r) => r.role === 'admin');
		assert.equal(admins.length, 1, 'exactly one admin created at first start');
		assertError(await srv.client(srv.adminToken + 'x').get('/api/raters'), 401, 'wrong token');
		assertError(await srv.client(null).get('/api/raters'), 401, 'no token');
		assertError(await srv.client(null).get('/api/raters', { headers: { Authorization: 'Basic Zm9vOmJhcg==' } }), 401, 'basic auth');
		assertError(await srv.client(null).get('/api/raters', { headers: { Authorization: 'Bearer' } }), 401, 'empty bearer');
		assertError(await srv.client(null).get('/api/tasks/next'), 401, 'rater endpoint, no token');
		assertError(await srv.client('nope').post('/api/ratings', { group_id: 1, ratings: [] }), 401, 'rating with bad token');
	} finally { await srv.stop(); }
});

test('without RLHFD_ADMIN_TOKEN a token is generated, printed once and written to admin.token with mode 0600', async () => {
	const srv = await startServer({ adminToken: null, keepData: true });
	let dataDir = srv.dataDir;
	try {
		const file = path.join(dataDir, 'admin.token');
		const st = statSync(file);
		assert.equal(st.mode & 0o777, 0o600, `admin.token mode is ${(st.mode & 0o777).toString(8)}`);
		const token = readFileSync(file, 'utf8').trim();
		assert.ok(token.length >= 16, `token too short: '${token}'`);
		const { stdout, stderr } = srv.output();
		assert.ok((stdout + stderr).includes(token), 'the generated token is printed at start-up');
		const r = await srv.client(token).get('/api/raters');
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.raters.filter((x) => x.role === 'admin').length, 1);

		// A restart on the same data dir neither prints a token again nor creates another admin.
		await srv.stop({ keepData: true });
		const again = await startServer({ adminToken: null, dataDir });
		try {
			const out = again.output();
			assert.ok(!(out.stdout + out.stderr).includes(token), 'token printed only on first start');
			const r2 = await again.client(token).get('/api/raters');
			assert.equal(r2.status, 200, r2.text);
			assert.equal(r2.json.raters.filter((x) => x.role === 'admin').length, 1);
		} finally { await again.stop(); }
	} finally {
		const { rmSync } = await import('node:fs');
		rmSync(dataDir, { recursive: true, force: true });
	}
});

/* Admin-only endpoints, with a body that would be valid for an admin. */
const ADMIN_ENDPOINTS = [
	['GET', '/api/raters'], ['POST', '/api/raters', { name: 'x', role: 'rater' }],
	['GET', '/api/prompts'], ['POST', '/api/prompts', { prompts: [{ text: 'x' }] }],
	['GET', '/api/prompts/1'], ['POST', '/api/prompts/1/responses', { responses: [{ text: 'x' }] }],
	['POST', '/api/generate', {}], ['POST', '/api/train', { kind: 'sft' }],
	['GET', '/api/jobs'], ['GET', '/api/jobs/1'], ['GET', '/api/jobs/1/metrics'], ['POST', '/api/jobs/1/cancel', {}],
	['GET', '/api/models'], ['POST', '/api/models/1/activate', {}],
	['GET', '/api/config'], ['PUT', '/api/config', { ratings_per_group: 3 }],
	['GET', '/api/stats'], ['GET', '/api/disagreements'],
	['PUT', '/api/groups/1/gold', { scores: [{ response_id: 1, score: 3 }] }], ['DELETE', '/api/groups/1/gold'],
	['GET', '/api/review'],
	['GET', '/api/export/ratings.jsonl'], ['GET', '/api/export/pairs.jsonl'],
	['GET', '/api/export/sft.jsonl?min_score=4'], ['GET', '/api/export/ratings.csv'],
];

test('a rater gets 403 on every admin endpoint and nothing changes; no token gets 401', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const before = await snapshot(srv);
		for (const [method, p, body] of ADMIN_ENDPOINTS) {
			assertError(await ann.client.call(method, p, body), 403, `rater ${method} ${p}`);
			assertError(await srv.client(null).call(method, p, body), 401, `anonymous ${method} ${p}`);
		}
		await assertUnchanged(srv, before, 'forbidden requests');
	} finally { await srv.stop(); }
});

test('admins may use the rater endpoints too', async () => {
	const srv = await startServer();
	try {
		const r = await srv.admin.get('/api/tasks/next');
		assert.equal(r.status, 204, r.text);
		const me = await srv.admin.get('/api/me');
		assert.equal(me.status, 200);
		assert.equal(me.json.role, 'admin');
	} finally { await srv.stop(); }
});

/* Cookie-jar-free helpers: the session cookie is handled by hand. */
function sessionCookie(res) {
	const raw = res.headers.getSetCookie ? res.headers.getSetCookie() : [res.headers.get('set-cookie')];
	const c = raw.find((x) => x && x.startsWith('rlhfd_session='));
	return c || null;
}

test('login gives an HttpOnly SameSite=Strict cookie and a CSRF token; logout ends the session', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const anon = srv.client(null);
		assertError(await anon.post('/api/login', { token: 'wrong' }), 401, 'login with a bad token');
		assertError(await anon.post('/api/login', { token: 12 }), 400, 'login with a number');
		assertError(await anon.post('/api/login', '{"token":', { raw: true }), 400, 'login with malformed JSON');

		const res = await anon.post('/api/login', { token: ann.token });
		assert.equal(res.status, 200, res.text);
		assert.equal(res.json.name, 'ann');
		assert.equal(res.json.role, 'rater');
		assert.equal(res.json.id, ann.id);
		assert.equal(typeof res.json.csrf_token, 'string');
		assert.ok(res.json.csrf_token.length >= 16);
		const set = sessionCookie(res);
		assert.ok(set, 'rlhfd_session cookie set');
		assert.match(set, /;\s*HttpOnly/i);
		assert.match(set, /;\s*SameSite=Strict/i);
		assert.match(set, /;\s*Path=\//i);
		assert.match(set, /;\s*Max-Age=[1-9][0-9]*/i);
		const cookie = set.split(';')[0];
		assert.ok(cookie.length > 'rlhfd_session='.length + 16, 'session id is long');
		assert.ok(!cookie.includes(ann.token), 'the cookie is not the token');

		const me = await anon.get('/api/me', { headers: { Cookie: cookie } });
		assert.equal(me.status, 200, me.text);
		assert.equal(me.json.name, 'ann');
		assert.equal(me.json.csrf_token, res.json.csrf_token);
		assert.equal(typeof me.json.rated_today, 'number');
		assert.equal(typeof me.json.remaining, 'number');
		const meBearer = await ann.client.get('/api/me');
		assert.equal(meBearer.status, 200);
		assert.equal(meBearer.json.csrf_token, undefined, 'no csrf token for bearer auth');

		// The cookie authorizes GETs without CSRF, and carries the role.
		assert.equal((await anon.get('/api/tasks/next', { headers: { Cookie: cookie } })).status, 204);
		assertError(await anon.get('/api/raters', { headers: { Cookie: cookie } }), 403, 'rater cookie on admin endpoint');

		const out = await anon.post('/api/logout', {}, { headers: { Cookie: cookie, 'X-CSRF-Token': res.json.csrf_token } });
		assert.equal(out.status, 200, out.text);
		const cleared = sessionCookie(out);
		assert.ok(cleared, 'logout sends a cookie that clears the session');
		assert.match(cleared, /;\s*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
		assertError(await anon.get('/api/me', { headers: { Cookie: cookie } }), 401, 'cookie after logout');
		assertError(await anon.get('/api/me', { headers: { Cookie: 'rlhfd_session=forged' } }), 401, 'forged cookie');
	} finally { await srv.stop(); }
});

test('cookie POSTs need the X-CSRF-Token header (403 csrf_failed, nothing stored); bearer POSTs do not', async () => {
	const srv = await startServer();
	try {
		const anon = srv.client(null);
		const login = await anon.post('/api/login', { token: srv.adminToken });
		assert.equal(login.status, 200, login.text);
		const cookie = sessionCookie(login).split(';')[0];
		const csrf = login.json.csrf_token;
		const before = await snapshot(srv);

		for (const [hdrs, what] of [[{}, 'no csrf header'], [{ 'X-CSRF-Token': 'x' + csrf }, 'wrong csrf'], [{ 'X-CSRF-Token': '' }, 'empty csrf']]) {
			const r = await anon.post('/api/raters', { name: 'eve', role: 'rater' }, { headers: { Cookie: cookie, ...hdrs } });
			assertError(r, 403, what);
			assert.equal(r.json.error.code, 'csrf_failed');
			const p = await anon.put('/api/config', { ratings_per_group: 7 }, { headers: { Cookie: cookie, ...hdrs } });
			assertError(p, 403, what + ' (PUT)');
			assert.equal(p.json.error.code, 'csrf_failed');
		}
		// Another session's CSRF token does not work either.
		const other = await anon.post('/api/login', { token: srv.adminToken });
		assertError(await anon.post('/api/raters', { name: 'eve', role: 'rater' },
			{ headers: { Cookie: cookie, 'X-CSRF-Token': other.json.csrf_token } }), 403, 'csrf of another session');
		await assertUnchanged(srv, before, 'requests without a valid CSRF token');

		const ok = await anon.post('/api/raters', { name: 'eve', role: 'rater' }, { headers: { Cookie: cookie, 'X-CSRF-Token': csrf } });
		assert.equal(ok.status, 201, ok.text);
		const ok2 = await srv.admin.post('/api/raters', { name: 'bob', role: 'rater' });
		assert.equal(ok2.status, 201, 'bearer needs no csrf');
	} finally { await srv.stop(); }
});
