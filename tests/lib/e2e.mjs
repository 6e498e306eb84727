/*
 * tests/lib/e2e.mjs — what the end-to-end tests (tests/e2e/) share: running the
 * rlhfd binary, the demo model cache, checked API calls, the rubric rater,
 * paging through prompts, waiting for jobs, and a fresh demo world served on
 * a free port.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, ROOT, randomToken, startServer, sleep } from './server.mjs';

export const DEMO_CACHE = process.env.RLHFD_DEMO_MODEL || path.join(ROOT, 'build/demo');

/*
 * The processes this test starts wait passively in OpenMP (unless the caller
 * chose): on a loaded 2-core machine, spinning workers starve each other and
 * the HTTP threads — measured on the demo model: the same test (the same
 * figures, every run is seeded) took 166 s passive against 773 s active.
 */
export const ENV = { OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY || 'PASSIVE' };
export const now = () => performance.now() / 1000;

/*
 * A change measured on paired prompts, ds[i] = one model's mean minus
 * another's on prompt i: the mean over the prompts with the half-width of
 * its normal 95 % interval (1.96 sd / sqrt n) — which prompts were drawn is
 * the larger part of a measure's noise, and pairing keeps it out.
 * pairedStats gives { mean, half }, pairedChange the text "+0.412 ± 0.215".
 */
export function pairedStats(ds) {
	const mean = ds.reduce((s, v) => s + v, 0) / ds.length;
	const sd = Math.sqrt(ds.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, ds.length - 1));
	return { mean, half: 1.96 * sd / Math.sqrt(ds.length) };
}
export function pairedChange(ds) {
	const { mean, half } = pairedStats(ds);
	return `${mean >= 0 ? '+' : ''}${mean.toFixed(3)} ± ${half.toFixed(3)}`;
}

export function run(args, opts = {}) {
	return new Promise((resolve, reject) => {
		execFile(BIN, args, { cwd: ROOT, maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
			if (err) reject(new Error(`rlhfd ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
			else resolve({ stdout, stderr });
		});
	});
}

export async function ok(res, what, status = 200) {
	assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 400)}`);
	return res.json;
}

/* Runs the rubric rater until no task is left; its summary figures.  With
 * noise > 0 each score moves by one with that probability (seeded), as a
 * person's would; taste names whose scores (server/demo/rubric.h: "default",
 * the rubric's ladder, or "thorough"). */
export async function rubricRate(srv, token, { noise = 0, seed = 1, taste = 'default' } = {}) {
	const args = ['rubric-rate', '--url', srv.url, '--token', token, '--taste', taste];
	if (noise > 0) args.push('--noise', String(noise), '--seed', String(seed));
	const { stdout } = await run(args);
	const m = stdout.match(/^tasks=(\d+) ratings=(\d+) mean_score=([0-9.]+|nan|-nan)$/m);
	assert.ok(m, `rubric-rate printed no summary:\n${stdout.slice(-2000)}`);
	return { tasks: +m[1], ratings: +m[2], mean: +m[3] };
}

/* The ids of every prompt of a split, paging through GET /api/prompts. */
export async function promptIds(srv, split) {
	const ids = [];
	for (let after = null; ;) {
		const q = `/api/prompts?split=${split}&limit=100${after !== null ? `&after=${after}` : ''}`;
		const page = await ok(await srv.admin.get(q), `GET /api/prompts?split=${split}`);
		ids.push(...page.prompts.map((p) => p.id));
		if (page.next_after === null || page.next_after === undefined || !page.prompts.length) break;
		after = page.next_after;
	}
	return ids;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export async function jobs(srv) {
	return (await ok(await srv.admin.get('/api/jobs'), 'GET /api/jobs')).jobs;
}

/* Waits for job id to end; asserts it succeeded unless allowFail (then the
 * failed or cancelled job is returned too). */
export async function waitJob(srv, id, timeoutS, { allowFail = false } = {}) {
	const deadline = now() + timeoutS;
	for (;;) {
		const j = await ok(await srv.admin.get(`/api/jobs/${id}`), `GET /api/jobs/${id}`);
		if (TERMINAL.has(j.status)) {
			if (allowFail) return j;
			assert.equal(j.status, 'succeeded', `job ${id} (${j.kind}) ${j.status}: ${j.error}`);
			return j;
		}
		assert.ok(now() < deadline, `job ${id} (${j.kind}) still ${j.status} after ${timeoutS} s`);
		await sleep(250);
	}
}


/*
 * A fresh demo world (`rlhfd demo init` from the demo model cache) served on a
 * free port: { srv, dataDir, sft (the active SFT version), initSec, stop() }.
 */
export async function demoServer() {
	assert.ok(existsSync(path.join(DEMO_CACHE, 'demo.json')),
		`no demo model in '${DEMO_CACHE}': \`make test-e2e\` builds it (make demo)`);
	const dataDir = mkdtempSync(path.join(tmpdir(), 'rlhfd-e2e-'));
	/* demo init makes the database, hence the admin: with this token when
	 * RLHFD_ADMIN_TOKEN is set, else a random one in <data>/admin.token */
	let adminToken = randomToken();
	const t0 = now();
	await run(['demo', 'init', '--data', dataDir, '--quiet'],
		{ env: { ...process.env, ...ENV, RLHFD_ADMIN_TOKEN: adminToken } });
	const initSec = now() - t0;
	const tokenFile = path.join(dataDir, 'admin.token');
	if (existsSync(tokenFile)) adminToken = readFileSync(tokenFile, 'utf8').trim();
	const srv = await startServer({ dataDir, adminToken, env: ENV });
	const models = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models;
	const sft = models.find((m) => m.active);
	assert.ok(sft, 'demo init leaves an active model');
	return {
		srv, dataDir, sft, initSec,
		async stop() {
			await srv.stop();
			if (process.env.RLHFD_E2E_KEEP) {
				/* the admin's token beside the data, for a later look
				 * (tests/bench/dev.mjs serves a copy with it) */
				writeFileSync(path.join(dataDir, 'admin.token'), srv.adminToken + '\n', { mode: 0o600 });
				console.log(`# data kept in ${dataDir}`);
			}
			else rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

export { sleep };
