/*
 * tests/lib/tiny_model.mjs — a server whose data directory holds a tiny model,
 * for tests that run jobs (the worker's API tests and the admin UI's browser
 * tests).  The same recipe as the worker's tests/api/jobs.test.mjs: a BPE
 * vocabulary and a 2-layer llama trained for a few steps on the demo world's
 * text (well under a second on 2 cores), then `rlhfd import-model --activate`
 * into each server's data directory, plus a slice of the demo prompt set.  The
 * model writes nonsense, which is all these tests need: they check the
 * machinery, not the quality (the end-to-end learning test does that).
 *
 *   const tiny = makeTinyModel();                 // once, in before()
 *   const w = await serverWithModel(tiny);        // version 1 active, prompts loaded
 *   const id = await submitJob(w.srv, 'sft', { epochs: 2 });
 *   const job = await waitJob(w.srv, id, (j) => FINISHED.includes(j.status));
 *   await w.stop();  tiny.cleanup();              // in after()
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, BIN, sleep, randomToken } from './server.mjs';

export const FINISHED = ['succeeded', 'failed', 'cancelled'];

/* Runs the rlhfd binary; resolves to its stdout (throws on a non-zero exit). */
export function rlhfd(args, opts = {}) {
	return execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/*
 * Makes the tiny model in a temp directory.  opts: seq (context, 64), steps
 * (5), trainPrompts (16), evalPrompts (6), maxEvalChars (longest eval prompt
 * kept, default no limit).  Returns { work, tok, base, corpus (its pre-training
 * text), promptSet, cleanup }.
 */
export function makeTinyModel(opts = {}) {
	const seq = opts.seq || 64, steps = opts.steps || 5;
	const work = mkdtempSync(path.join(tmpdir(), 'rlhfd-tiny-'));
	const corpus = path.join(work, 'pre.txt'), prompts = path.join(work, 'prompts.jsonl');
	const tok = path.join(work, 'tok.bin'), base = path.join(work, 'base.bin');
	rlhfd(['demo-data', '--pretrain', corpus, '--pretrain-bytes', '40000', '--prompts', prompts]);
	rlhfd(['train-tokenizer', '--corpus', corpus, '--vocab', '320', '--out', tok]);
	rlhfd(['train-lm', '--tokenizer', tok, '--data', corpus, '--out', base, '--dim', '32',
		'--hidden', '64', '--layers', '2', '--heads', '4', '--kv-heads', '2', '--seq', String(seq),
		'--steps', String(steps), '--batch', '4', '--log-every', String(steps)]);
	const all = readFileSync(prompts, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
	const maxEval = opts.maxEvalChars || Infinity;
	const promptSet = [
		...all.filter((p) => p.split === 'train').slice(0, opts.trainPrompts ?? 16).map((p) => ({ text: p.text, split: 'train' })),
		...all.filter((p) => p.split === 'eval' && p.text.length <= maxEval).slice(0, opts.evalPrompts ?? 6).map((p) => ({ text: p.text, split: 'eval' })),
	];
	return { work, tok, base, corpus, promptSet, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

/*
 * A server whose data directory holds the tiny model (version 1, active) and
 * its prompt set.  opts.importArgs: more arguments of import-model (e.g.
 * ['--corpus', tiny.corpus]); the rest are startServer's.  Returns { srv,
 * dataDir, trainIds, evalIds, stop }.
 */
export async function serverWithModel(tiny, { importArgs = [], ...opts } = {}) {
	const dataDir = mkdtempSync(path.join(tmpdir(), 'rlhfd-tiny-data-'));
	const out = rlhfd(['import-model', '--data', dataDir, '--model', tiny.base, '--tokenizer', tiny.tok,
		'--name', 'tiny', '--activate', ...importArgs]);
	assert.match(out, /^model_id=1$/m);
	const srv = await startServer({ dataDir, adminToken: randomToken(), ...opts });
	const r = await srv.admin.post('/api/prompts', { prompts: tiny.promptSet });
	assert.equal(r.status, 201, r.text);
	const nTrain = tiny.promptSet.filter((p) => p.split === 'train').length;
	return {
		srv, dataDir,
		trainIds: r.json.ids.slice(0, nTrain),
		evalIds: r.json.ids.slice(nTrain),
		async stop() { await srv.stop(); rmSync(dataDir, { recursive: true, force: true }); },
	};
}

/* Every model version, newest first (GET /api/models, asserted 200). */
export async function listModels(srv) {
	const r = await srv.admin.get('/api/models');
	assert.equal(r.status, 200, r.text);
	return r.json.models;
}

/* POST /api/generate (kind 'generate') or /api/train; asserts 202, returns the job id. */
export async function submitJob(srv, kind, params) {
	const r = kind === 'generate' ? await srv.admin.post('/api/generate', params || {})
		: await srv.admin.post('/api/train', { kind, ...(params ? { params } : {}) });
	assert.equal(r.status, 202, `${kind}: ${r.text}`);
	assert.ok(Number.isInteger(r.json.job_id));
	return r.json.job_id;
}

/* Polls GET /api/jobs/{id} until pred(job); history collects every job seen. */
export async function waitJob(srv, id, pred, { timeoutMs = 90000, history = null } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = await srv.admin.get(`/api/jobs/${id}`);
		assert.equal(r.status, 200, r.text);
		if (history) history.push(r.json);
		if (pred(r.json)) return r.json;
		if (Date.now() > deadline) assert.fail(`job ${id} timed out in state ${JSON.stringify(r.json)}`);
		await sleep(20);
	}
}

/* Waits for the job to finish and asserts it succeeded; returns it. */
export async function jobSucceeded(srv, id, opts) {
	const j = await waitJob(srv, id, (x) => FINISHED.includes(x.status), opts);
	assert.equal(j.status, 'succeeded', `job ${id}: ${JSON.stringify(j)}`);
	return j;
}

/* One imported answer (no model) per prompt: demonstrations for an SFT job. */
export async function importDemos(srv, ids, text = 'The answer is a short and polite sentence.') {
	for (const id of ids) {
		const r = await srv.admin.post(`/api/prompts/${id}/responses`, { responses: [{ text }] });
		assert.equal(r.status, 201, r.text);
	}
}

/*
 * Rates every task the rater (from fixtures.createRater) is handed, scores by
 * position (1, 5, 3, 2, 4, ...) so every group has different scores.
 * Returns the number of ratings saved.
 */
export async function rateAll(rater, max = 1000) {
	let saved = 0;
	for (let n = 0; n < max; n++) {
		const r = await rater.client.get('/api/tasks/next');
		if (r.status === 204) break;
		assert.equal(r.status, 200, r.text);
		const t = r.json.task;
		const ratings = t.responses.map((x, i) => ({ response_id: x.id, score: [1, 5, 3, 2, 4][i % 5] }));
		const s = await rater.client.post('/api/ratings', { group_id: t.group_id, ratings });
		assert.equal(s.status, 201, s.text);
		saved += s.json.saved;
	}
	return saved;
}

/*
 * SFT epochs (over the demonstrations imported with importDemos) that keep the
 * worker busy for about `seconds` on this machine: a tiny model trains in
 * milliseconds on an idle fast machine and in seconds on a loaded one, and
 * the worker writes progress at most every half second, so a job meant to be
 * watched running is sized by timed calibration jobs, not by a fixed count.
 * The probes grow fourfold until one takes half a second, so a job's fixed
 * cost (loading, saving) does not pass for training time.  They do not
 * activate their versions.
 */
export async function sftEpochsLasting(srv, seconds, batchSize = 4) {
	let epochs = 8, ms = 0;
	for (;;) {
		const t0 = Date.now();
		const id = await submitJob(srv, 'sft', { epochs, batch_size: batchSize, activate: false });
		await jobSucceeded(srv, id);
		ms = Date.now() - t0;
		if (ms >= 500 || epochs * 4 > 1000) break;
		epochs *= 4;
	}
	/* 1000: the most epochs a job takes */
	return Math.min(1000, Math.max(epochs, Math.ceil(epochs * seconds * 1000 / ms)));
}

export { sleep };
