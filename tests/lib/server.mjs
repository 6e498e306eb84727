/*
 * tests/lib/server.mjs — starts the real ./rlhfd binary for API and browser tests
 * (it builds nothing: run `make` first) and gives tests a small HTTP client.
 *
 *   const srv = await startServer();           // free port, fresh temp data dir
 *   const admin = srv.client(srv.adminToken);  // Bearer-token client
 *   const r = await admin.post('/api/raters', { name: 'ann', role: 'rater' });
 *   r.status, r.json, r.text, r.headers
 *   await srv.stop();                          // SIGTERM, then SIGKILL; removes the dir
 *
 * RLHFD_BIN overrides the binary; RLHFD_TEST_VERBOSE=1 echoes the server's output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.RLHFD_BIN || path.join(ROOT, 'rlhfd');

const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch (e) { /* gone */ } } });

/* A TCP port nobody listens on right now (the kernel picks it). */
export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function randomToken() { return 'test-admin-' + randomBytes(16).toString('hex'); }

/*
 * Starts `rlhfd serve --port P --data DIR`.
 *   adminToken: RLHFD_ADMIN_TOKEN (default: a random one); null = leave it unset.
 *   dataDir: reuse a directory (a restart); default a new mkdtemp dir.
 *   keepData: do not delete the data dir on stop().
 *   env, args: extra environment / arguments.
 */
export async function startServer(opts = {}) {
	if (!existsSync(BIN)) throw new Error(`cannot find '${BIN}': run make first`);
	const port = opts.port || await freePort();
	const dataDir = opts.dataDir || mkdtempSync(path.join(tmpdir(), 'rlhfd-test-'));
	const adminToken = opts.adminToken === undefined ? randomToken() : opts.adminToken;
	const env = { ...process.env, ...(opts.env || {}) };
	delete env.RLHFD_ADMIN_TOKEN;
	if (adminToken !== null) env.RLHFD_ADMIN_TOKEN = adminToken;
	const args = ['serve', '--port', String(port), '--data', dataDir, ...(opts.args || [])];
	const proc = spawn(BIN, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
	live.add(proc);
	let stdout = '', stderr = '';
	const verbose = !!process.env.RLHFD_TEST_VERBOSE;
	proc.stdout.on('data', (d) => { stdout += d; if (verbose) process.stderr.write(d); });
	proc.stderr.on('data', (d) => { stderr += d; if (verbose) process.stderr.write(d); });
	let exited = null;
	const exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => {
		exited = { code, signal };
		live.delete(proc);
		resolve(exited);
	}));

	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + (opts.startTimeoutMs || 15000);
	for (;;) {
		if (exited) throw new Error(`rlhfd serve exited (${JSON.stringify(exited)}) before answering /healthz:\n${stdout}\n${stderr}`);
		try {
			const r = await fetch(url + '/healthz', { signal: AbortSignal.timeout(1000) });
			if (r.status === 200) { await r.text(); break; }
		} catch (e) { /* not up yet */ }
		if (Date.now() > deadline) {
			proc.kill('SIGKILL');
			throw new Error(`rlhfd serve did not answer /healthz within the timeout:\n${stdout}\n${stderr}`);
		}
		await sleep(50);
	}

	const srv = {
		url, port, dataDir, proc, adminToken,
		output: () => ({ stdout, stderr }),
		exited: () => exited,
		client: (token) => client(url, token),
		admin: null,
		/* Graceful stop; the data dir is removed unless keepData. */
		async stop({ keepData = opts.keepData } = {}) {
			if (!exited) {
				proc.kill('SIGTERM');
				const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 3000);
				await exitPromise;
				clearTimeout(t);
			}
			if (!keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
		},
		/* kill -9: the data dir is kept for a restart. */
		async kill9() {
			if (!exited) { proc.kill('SIGKILL'); await exitPromise; }
		},
	};
	srv.admin = adminToken ? client(url, adminToken) : null;
	return srv;
}

/*
 * A small HTTP client.  token: Bearer token or null.  Each call resolves to
 * { status, headers, text, json } (json null when the body is not JSON).
 * opts.headers adds headers; opts.raw sends body as is (a string/Buffer) with
 * opts.contentType; otherwise body is JSON-encoded.
 */
export function client(base, token) {
	async function call(method, p, body, opts = {}) {
		const headers = { ...(opts.headers || {}) };
		if (token) headers.Authorization = `Bearer ${token}`;
		let payload;
		if (body !== undefined) {
			if (opts.raw) {
				payload = body;
				if (opts.contentType !== null) headers['Content-Type'] = opts.contentType || 'application/json';
			} else {
				payload = JSON.stringify(body);
				headers['Content-Type'] = 'application/json';
			}
		}
		const res = await fetch(base + p, { method, headers, body: payload, redirect: 'manual' });
		const text = await res.text();
		let json = null;
		try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
		return { status: res.status, headers: res.headers, text, json };
	}
	return {
		base, token,
		call,
		get: (p, opts) => call('GET', p, undefined, opts),
		post: (p, body, opts) => call('POST', p, body, opts),
		put: (p, body, opts) => call('PUT', p, body, opts),
		del: (p, opts) => call('DELETE', p, undefined, opts),
	};
}

/* Parses a JSONL body into objects (blank lines ignored). */
export function parseJsonl(text) {
	return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

/*
 * RFC 4180 CSV parser (quotes, doubled quotes, commas and newlines inside quoted
 * fields, CRLF or LF line ends).  Returns an array of rows (arrays of strings).
 */
export function parseCsv(text) {
	const rows = [];
	let row = [], field = '', i = 0, quoted = false, any = false;
	while (i < text.length) {
		const c = text[i];
		if (quoted) {
			if (c === '"') {
				if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
				quoted = false; i++; continue;
			}
			field += c; i++; continue;
		}
		if (c === '"') { quoted = true; any = true; i++; continue; }
		if (c === ',') { row.push(field); field = ''; any = true; i++; continue; }
		if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
		if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; any = false; i++; continue; }
		field += c; any = true; i++;
	}
	if (any || field !== '' || row.length) { row.push(field); rows.push(row); }
	return rows;
}
