/*
 * tests/api/hardening.test.mjs — the review's HTTP defects, each reproduced as
 * the review found it (each failed on the code before its fix; the second test
 * of 3 guards that a refusal is still delivered whole):
 *   3  a request is refused (401/404/405) before its body is read: unauthenticated
 *      connections sending large bodies do not grow the server
 *   6  login: throttled per address (429 + Retry-After), JSON only, CSRF on
 *      logout, a cap on live sessions; RLHFD_ADMIN_TOKEN under 16 characters
 *      refused at start-up
 *   8  HEAD on an API endpoint does not run its GET (no task leased)
 *   9  Transfer-Encoding: chunked wins over a large Content-Length
 *   4  CSV cells that a spreadsheet would run as formulas are exported as text
 *   7  the data directory 0700, the database and its WAL 0600
 *  10  duplicate JSON keys and %00 in a path are 400
 *  11  one server per data directory
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, chmodSync, statSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, sleep, BIN, ROOT, parseCsv } from '../lib/server.mjs';
import { rawRequest } from '../lib/rawhttp.mjs';
import { createRater, importGroup, assertError, snapshot, assertUnchanged } from '../lib/fixtures.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.stop(); });

function rssKiB(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return Number(m[1]);
}

/* Opens a socket, sends head and `bytes` of body (never the whole declared
 * length), and keeps it open; resolves with the socket once written. */
function hold(port, head, bytes) {
	return new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		s.on('error', () => {});
		s.on('connect', () => {
			s.write(head.split('\n').join('\r\n') + '\r\n\r\n');
			const chunk = Buffer.alloc(64 * 1024, 'x');
			let left = bytes;
			const pump = () => {
				while (left > 0) {
					const n = Math.min(left, chunk.length);
					left -= n;
					if (!s.write(chunk.subarray(0, n))) { s.once('drain', pump); return; }
				}
				resolve(s);
			};
			pump();
		});
		setTimeout(() => reject(new Error('hold: timed out writing')), 20000);
	});
}

test('3: 24 unauthenticated 4 MiB bodies are not buffered (the server grows < 24 MiB)', async () => {
	const before = rssKiB(srv.proc.pid);
	const size = 4 << 20;
	const socks = [];
	for (let i = 0; i < 24; i++) {
		socks.push(await hold(srv.port, `POST /api/prompts HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: ${size + 10}`, size));
	}
	await sleep(300);
	const grown = rssKiB(srv.proc.pid) - before;
	for (const s of socks) s.destroy();
	assert.ok(grown < 24 * 1024, `the server grew by ${(grown / 1024).toFixed(1)} MiB holding 24 refused bodies`);
	// and the server still answers
	assert.equal((await srv.admin.get('/api/stats')).status, 200);
});

test('3: a refused request is answered with its refusal, not a read of its body', async () => {
	const body = Buffer.alloc(1 << 20, 'y');
	const r = await rawRequest(srv.port, `POST /api/prompts HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: ${body.length}\nConnection: close`, [body]);
	assertError(r, 401, 'no token');
	const r2 = await rawRequest(srv.port, `POST /api/nothing-here HTTP/1.1\nHost: x\nAuthorization: Bearer ${srv.adminToken}\nContent-Length: ${body.length}\nConnection: close`, [body]);
	assertError(r2, 404, 'unknown endpoint');
	const r3 = await rawRequest(srv.port, `PUT /api/stats HTTP/1.1\nHost: x\nAuthorization: Bearer ${srv.adminToken}\nContent-Length: ${body.length}\nConnection: close`, [body]);
	assertError(r3, 405, 'wrong method');
	assert.match(r3.headers.get('allow') || '', /GET/);
});

test('8: HEAD /api/tasks/next leases nothing: another rater still gets the only group', async () => {
	const s = await startServer();
	try {
		await importGroup(s, 'head test prompt', ['answer one', 'answer two']);
		const a = await createRater(s, 'head-a');
		const b = await createRater(s, 'head-b');
		const head = await a.client.call('HEAD', '/api/tasks/next');
		assert.equal(head.status, 405, `HEAD → ${head.status}`);
		assert.match(head.headers.get('allow') || '', /GET/);
		// ratings_per_group is 1: a lease taken by the HEAD would leave b nothing (204)
		const got = await b.client.get('/api/tasks/next');
		assert.equal(got.status, 200, 'the HEAD must not have leased the group');
		// static files and /healthz keep HEAD
		assert.equal((await s.client(null).call('HEAD', '/healthz')).status, 200);
		assert.equal((await s.client(null).call('HEAD', '/')).status, 200);
	} finally { await s.stop(); }
});

test('9: chunked with a large Content-Length is read as chunked (201, not 413)', async () => {
	const body = JSON.stringify({ prompts: [{ text: 'chunked wins' }] });
	const chunk = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
	const r = await rawRequest(srv.port, `POST /api/prompts HTTP/1.1\nHost: x\nAuthorization: Bearer ${srv.adminToken}\nContent-Type: application/json\nTransfer-Encoding: chunked\nContent-Length: ${64 << 20}\nConnection: close`, [chunk]);
	assert.equal(r.status, 201, r.text);
	assert.equal(r.json.inserted, 1);
});

test('10: duplicate JSON keys are 400 and change nothing', async () => {
	const snap = await snapshot(srv);
	const r = await srv.admin.post('/api/prompts', '{"prompts":[{"text":"a","text":"b"}]}', { raw: true });
	assertError(r, 400, 'duplicate key');
	assert.match(r.json.error.message, /duplicate/i);
	const r2 = await srv.admin.post('/api/generate', '{"k":1,"k":2}', { raw: true });
	assertError(r2, 400, 'duplicate key');
	const nd = '{"prompt":"x","prompt":"y"}\n';
	const r3 = await srv.admin.post('/api/prompts', nd, { raw: true, contentType: 'application/x-ndjson' });
	assertError(r3, 400, 'duplicate key in ndjson');
	await assertUnchanged(srv, snap, 'duplicate keys');
});

test('10: %00 in a path is 400, not the path before it', async () => {
	const { promptId } = await importGroup(srv, 'nul path prompt', ['a', 'b']);
	assert.equal((await srv.admin.get(`/api/prompts/${promptId}`)).status, 200);
	assertError(await srv.admin.get(`/api/prompts/${promptId}%00`), 400, '%00 after the id');
	assertError(await srv.admin.get(`/api/prompts/${promptId}%00/x`), 400, '%00 inside');
	assertError(await srv.admin.get(`/api%00/stats`), 400, '%00 in a segment');
	// other escapes still decode
	assert.equal((await srv.admin.get(`/api/prompts/%3${String(promptId)[0]}${String(promptId).slice(1)}`)).status, 200);
});

test('6: wrong tokens from one address are throttled with 429 + Retry-After; a bearer call is not', async () => {
	const s = await startServer();
	try {
		const anon = s.client(null);
		let codes = [];
		for (let i = 0; i < 12; i++) codes.push((await anon.post('/api/login', { token: `wrong-${i}` })).status);
		assert.deepEqual(codes.slice(0, 10), Array(10).fill(401), codes.join(','));
		assert.equal(codes[11], 429, codes.join(','));
		const r = await anon.post('/api/login', { token: s.adminToken });
		assertError(r, 429, 'even the right token waits');
		const ra = Number(r.headers.get('retry-after'));
		assert.ok(ra >= 1 && ra <= 60, `Retry-After ${r.headers.get('retry-after')}`);
		// API calls with a bearer token go on
		assert.equal((await s.admin.get('/api/stats')).status, 200);
	} finally { await s.stop(); }
});

test('6: login takes JSON only (a text/plain form cannot log a browser in)', async () => {
	const anon = srv.client(null);
	const r = await anon.post('/api/login', JSON.stringify({ token: srv.adminToken }), { raw: true, contentType: 'text/plain' });
	assertError(r, 415, 'text/plain login');
	assert.equal(r.headers.get('set-cookie'), null);
	const r2 = await anon.post('/api/login', `token=${srv.adminToken}`, { raw: true, contentType: 'application/x-www-form-urlencoded' });
	assertError(r2, 415, 'form login');
	const ok = await anon.post('/api/login', { token: srv.adminToken });
	assert.equal(ok.status, 200);
});

async function login(token) {
	const r = await srv.client(null).post('/api/login', { token });
	assert.equal(r.status, 200, r.text);
	const cookie = r.headers.get('set-cookie').split(';')[0];
	return { cookie, csrf: r.json.csrf_token };
}

test('6: logout by cookie needs the CSRF token', async () => {
	const s = await login(srv.adminToken);
	const anon = srv.client(null);
	const bad = await anon.post('/api/logout', {}, { headers: { Cookie: s.cookie } });
	assertError(bad, 403, 'logout without CSRF');
	assert.equal((await anon.get('/api/me', { headers: { Cookie: s.cookie } })).status, 200, 'still logged in');
	const ok = await anon.post('/api/logout', {}, { headers: { Cookie: s.cookie, 'X-CSRF-Token': s.csrf } });
	assert.equal(ok.status, 200);
	assert.equal((await anon.get('/api/me', { headers: { Cookie: s.cookie } })).status, 401, 'logged out');
});

test('6: a rater keeps at most 20 live sessions; the oldest go first', async () => {
	const rater = await createRater(srv, 'many-sessions');
	const sessions = [];
	for (let i = 0; i < 25; i++) { sessions.push(await login(rater.token)); await sleep(i === 4 ? 1100 : 0); }
	const anon = srv.client(null);
	const alive = [];
	for (const s of sessions) alive.push((await anon.get('/api/me', { headers: { Cookie: s.cookie } })).status === 200);
	assert.equal(alive.filter(Boolean).length, 20, alive.join(','));
	assert.deepEqual(alive.slice(5), Array(20).fill(true), 'the newest 20 live');
});

test('6: RLHFD_ADMIN_TOKEN under 16 characters is refused at start-up', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rlhfd-short-'));
	try {
		const r = spawnSync(BIN, ['serve', '--port', '0', '--data', dir], {
			cwd: ROOT, env: { ...process.env, RLHFD_ADMIN_TOKEN: 'abc' }, encoding: 'utf8', timeout: 10000,
		});
		assert.notEqual(r.status, 0, `exit ${r.status}`);
		assert.match(r.stderr, /RLHFD_ADMIN_TOKEN.*at least 16/);
	} finally { rmSync(dir, { recursive: true, force: true }); }
});

test('7: the data directory is 0700 and the database, its WAL and shm 0600, even in a 0755 directory', async () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rlhfd-perm-'));
	chmodSync(dir, 0o755);
	const s = await startServer({ dataDir: dir });
	try {
		await s.admin.post('/api/prompts', { prompts: [{ text: 'a write, so the WAL exists' }] });
		const mode = (p) => (statSync(p).mode & 0o777).toString(8);
		assert.equal(mode(dir), '700');
		for (const f of ['rlhfd.db', 'rlhfd.db-wal', 'rlhfd.db-shm'])
			if (existsSync(path.join(dir, f))) assert.equal(mode(path.join(dir, f)), '600', f);
		assert.ok(existsSync(path.join(dir, 'rlhfd.db-wal')), 'the WAL is there while the server runs');
	} finally { await s.stop(); rmSync(dir, { recursive: true, force: true }); }
});

test('3: connections per client address are capped (the 129th is closed at once)', async () => {
	const socks = [];
	let closed = 0;
	for (let i = 0; i < 140; i++) {
		await new Promise((resolve) => {
			const s = net.connect(srv.port, '127.0.0.1', resolve);
			s.on('error', () => {});
			s.on('close', () => { closed++; });
			socks.push(s);
		});
	}
	await sleep(500);
	for (const s of socks) s.destroy();
	assert.ok(closed >= 140 - 128, `${closed} of 140 idle connections were closed by the server`);
	assert.ok(closed < 140 - 100, `${closed} closed: the cap is far below 128`);
	await sleep(200);
	assert.equal((await srv.admin.get('/api/stats')).status, 200, 'the server answers again once they are gone');
});

test('4: a formula in a rater comment is exported as text in ratings.csv', async () => {
	const s = await startServer();
	try {
		const rater = await createRater(s, 'csv-rater');
		const g = await importGroup(s, '@prompt that looks like a formula', ['=1+1', 'plain answer']);
		const evil = "=cmd|' /C calc'!A0";
		const r = await rater.client.post('/api/ratings', { group_id: g.groupId, ratings: [
			{ response_id: g.responseIds[0], score: 3, comment: evil }, { response_id: g.responseIds[1], score: 4, comment: '-2' }] });
		assert.equal(r.status, 201, r.text);
		const csv = (await s.admin.get('/api/export/ratings.csv')).text;
		const rows = parseCsv(csv);
		const head = rows[0];
		const byResponse = new Map(rows.slice(1).map((row) => [row[head.indexOf('response')], row]));
		const a = byResponse.get("'=1+1");
		assert.ok(a, `the answer '=1+1' is exported as text: ${csv}`);
		assert.equal(a[head.indexOf('comment')], "'" + evil);
		assert.equal(a[head.indexOf('prompt')], "'@prompt that looks like a formula");
		assert.equal(byResponse.get('plain answer')[head.indexOf('comment')], "'-2");
		for (const row of rows.slice(1)) for (const cell of row) assert.ok(!/^[=+@\t\r]/.test(cell) && !/^-[^0-9]/.test(cell), `cell ${JSON.stringify(cell)}`);
		// the JSON export keeps the text as written
		const jl = (await s.admin.get('/api/export/ratings.jsonl')).text;
		assert.ok(jl.includes(JSON.stringify(evil)));
	} finally { await s.stop(); }
});

/*
 * 11  one server per data directory: a second `rlhfd serve` on a directory a
 *     server is using exits 1 before it opens the database (it used to mark
 *     the first server's running job interrupted, then fail to bind); the
 *     first goes on unchanged, and once it stops the directory serves again.
 */
test('11 a second server on a data directory in use exits 1 and changes nothing', async () => {
	const first = await startServer({ keepData: true });
	try {
		await createRater(first, 'one-server');
		const before = await snapshot(first);
		const port2 = first.port + 1 === 65536 ? first.port - 1 : first.port + 1;
		const r = spawnSync(BIN, ['serve', '--port', String(port2), '--data', first.dataDir], {
			cwd: ROOT, timeout: 15000, encoding: 'utf8',
			env: { ...process.env, RLHFD_ADMIN_TOKEN: 'another-admin-token-0123456789' },
		});
		assert.equal(r.status, 1, `second server: status ${r.status}, stderr: ${r.stderr}`);
		assert.match(r.stderr, /data directory '.*' is in use by another rlhfd serve/);
		assert.equal((await fetch(first.url + '/healthz')).status, 200, 'the first server still answers');
		await assertUnchanged(first, before, 'a second server tried the same data directory');
	} finally {
		await first.stop({ keepData: true });
	}
	/* the lock went with the process: the directory serves again */
	const again = await startServer({ dataDir: first.dataDir, adminToken: first.adminToken });
	try {
		assert.equal((await again.admin.get('/api/raters')).status, 200);
	} finally {
		await again.stop();
		rmSync(first.dataDir, { recursive: true, force: true });
	}
});
