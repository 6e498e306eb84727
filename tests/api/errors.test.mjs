/*
 * tests/api/errors.test.mjs — every error path of API.md's conventions: the exact
 * status, the {"error": {"code", "message"}} body, and that nothing stored
 * changed (the whole visible state is re-read after each request).  Then the
 * server must still be healthy.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { rawRequest, chunk, LAST_CHUNK } from '../lib/rawhttp.mjs';
import { createRater, importGroup, assertError, snapshot, assertUnchanged, exportedRatings, sqlite } from '../lib/fixtures.mjs';

let srv, ann, bob, G1, G2;

before(async () => {
	srv = await startServer();
	ann = await createRater(srv, 'ann');
	bob = await createRater(srv, 'bob');
	G1 = await importGroup(srv, 'first prompt', ['g1 a', 'g1 b', 'g1 c']);
	G2 = await importGroup(srv, 'second prompt', ['g2 a', 'g2 b']);
	// Some existing state, so "nothing changed" is about more than emptiness.
	const r = await bob.client.post('/api/ratings', { group_id: G2.groupId, ratings: [{ response_id: G2.responseIds[0], score: 3 }] });
	assert.equal(r.status, 201, r.text);
});
after(async () => { await srv.stop(); });

/*
 * Runs one bad request as a subtest of t: exact status + error shape +
 * unchanged state (+ check(res) if given).
 */
function rejects(t, what, status, fn, check) {
	return t.test(what, async () => {
		const before = await snapshot(srv);
		const res = await fn();
		assertError(res, status, what);
		if (check) check(res);
		await assertUnchanged(srv, before, what);
	});
}

const rate = (who, body) => who.client.post('/api/ratings', body);
const good = () => ({ response_id: G1.responseIds[0], score: 4 });

test('malformed JSON and wrong body shapes → 400', async (t) => {
	for (const [what, body] of [
		['truncated JSON', '{"group_id": 1, "ratings": ['],
		['not JSON at all', 'score=5'],
		['trailing garbage', JSON.stringify({ group_id: 1, ratings: [] }) + ' x'],
		['empty body', ''],
		['JSON array', '[]'],
		['JSON null', 'null'],
		['JSON string', '"hello"'],
		['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x67, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
	]) {
		await rejects(t, `ratings: ${what}`, 400, () => ann.client.post('/api/ratings', body, { raw: true }));
		await rejects(t, `raters: ${what}`, 400, () => srv.admin.post('/api/raters', body, { raw: true }));
		await rejects(t, `prompts: ${what}`, 400, () => srv.admin.post('/api/prompts', body, { raw: true }));
		await rejects(t, `config: ${what}`, 400, () => srv.admin.put('/api/config', body, { raw: true }));
	}
});

test('ratings: wrong types, out-of-range scores, missing fields → 400', async (t) => {
	const cases = [
		['group_id as string', { group_id: String(G1.groupId), ratings: [good()] }],
		['group_id float', { group_id: G1.groupId + 0.5, ratings: [good()] }],
		['ratings not an array', { group_id: G1.groupId, ratings: good() }],
		['rating not an object', { group_id: G1.groupId, ratings: [4] }],
		['response_id as string', { group_id: G1.groupId, ratings: [{ response_id: String(G1.responseIds[0]), score: 4 }] }],
		['score 0', { group_id: G1.groupId, ratings: [{ ...good(), score: 0 }] }],
		['score 6', { group_id: G1.groupId, ratings: [{ ...good(), score: 6 }] }],
		['score "3"', { group_id: G1.groupId, ratings: [{ ...good(), score: '3' }] }],
		['score 3.5', { group_id: G1.groupId, ratings: [{ ...good(), score: 3.5 }] }],
		['score null', { group_id: G1.groupId, ratings: [{ ...good(), score: null }] }],
		['score -1', { group_id: G1.groupId, ratings: [{ ...good(), score: -1 }] }],
		['score true', { group_id: G1.groupId, ratings: [{ ...good(), score: true }] }],
		['helpful 0', { group_id: G1.groupId, ratings: [{ ...good(), helpful: 0 }] }],
		['honest 6', { group_id: G1.groupId, ratings: [{ ...good(), honest: 6 }] }],
		['harmless "5"', { group_id: G1.groupId, ratings: [{ ...good(), harmless: '5' }] }],
		['comment a number', { group_id: G1.groupId, ratings: [{ ...good(), comment: 5 }] }],
		['flags a string', { group_id: G1.groupId, ratings: [{ ...good(), flags: 'unsafe' }] }],
		['flags of numbers', { group_id: G1.groupId, ratings: [{ ...good(), flags: [1] }] }],
		['missing group_id', { ratings: [good()] }],
		['missing ratings', { group_id: G1.groupId }],
		['missing score', { group_id: G1.groupId, ratings: [{ response_id: G1.responseIds[0] }] }],
		['missing response_id', { group_id: G1.groupId, ratings: [{ score: 4 }] }],
	];
	for (const [what, body] of cases) await rejects(t, `ratings: ${what}`, 400, () => rate(ann, body));
});

test('a mixed valid/invalid batch stores none of it', async (t) => {
	const ok = G1.responseIds.slice(0, 2).map((id) => ({ response_id: id, score: 5 }));
	await rejects(t, 'batch with one score 6', 400, () => rate(ann, { group_id: G1.groupId, ratings: [...ok, { response_id: G1.responseIds[2], score: 6 }] }));
	await rejects(t, 'batch with one bad type', 400, () => rate(ann, { group_id: G1.groupId, ratings: [...ok, { response_id: G1.responseIds[2], score: '2' }] }));
	await rejects(t, 'batch with one unknown response', 404, () => rate(ann, { group_id: G1.groupId, ratings: [...ok, { response_id: 987654, score: 2 }] }));
	// The invalid rating first, then valid ones.
	await rejects(t, 'batch starting with an invalid rating', 400, () => rate(ann, { group_id: G1.groupId, ratings: [{ response_id: G1.responseIds[2], score: 0 }, ...ok] }));
	// An answer from another group inside the batch: well-formed, refused by state.
	const res = await ann.client.post('/api/ratings', { group_id: G1.groupId, ratings: [...ok, { response_id: G2.responseIds[1], score: 1 }] });
	assert.ok([400, 404, 409].includes(res.status), `answer of another group: ${res.status} ${res.text}`);
	assertError(res, res.status, 'answer of another group');
	assert.equal((await exportedRatings(srv)).filter((l) => l.rater === 'ann' || l.rater === ann.id).length, 0, 'ann has no stored rating');
});

test('unknown ids → 404', async (t) => {
	await rejects(t, 'rating an unknown group', 404, () => rate(ann, { group_id: 987654, ratings: [{ response_id: G1.responseIds[0], score: 3 }] }));
	await rejects(t, 'rating an unknown response', 404, () => rate(ann, { group_id: G1.groupId, ratings: [{ response_id: 987654, score: 3 }] }));
	await rejects(t, 'skip unknown group', 404, () => ann.client.post('/api/tasks/987654/skip', {}));
	await rejects(t, 'prompt detail', 404, () => srv.admin.get('/api/prompts/987654'));
	await rejects(t, 'responses for unknown prompt', 404, () => srv.admin.post('/api/prompts/987654/responses', { responses: [{ text: 'x' }] }));
	await rejects(t, 'job', 404, () => srv.admin.get('/api/jobs/987654'));
	await rejects(t, 'job metrics', 404, () => srv.admin.get('/api/jobs/987654/metrics'));
	await rejects(t, 'cancel job', 404, () => srv.admin.post('/api/jobs/987654/cancel', {}));
	await rejects(t, 'activate model', 404, () => srv.admin.post('/api/models/987654/activate', {}));
	await rejects(t, 'generate for unknown prompt', 404, () => srv.admin.post('/api/generate', { prompt_ids: [987654] }));
	await rejects(t, 'unknown api path', 404, () => srv.admin.get('/api/nope'));
	await rejects(t, 'unknown api path, no auth', 404, () => srv.client(null).get('/api/definitely/not/here'));
});

test('admin endpoints: wrong types and missing fields → 400', async (t) => {
	const pid = G1.promptId;
	const cases = [
		['rater without name', '/api/raters', { role: 'rater' }],
		['rater with empty name', '/api/raters', { name: '', role: 'rater' }],
		['rater name a number', '/api/raters', { name: 7, role: 'rater' }],
		['rater with unknown role', '/api/raters', { name: 'x', role: 'boss' }],
		['rater without role', '/api/raters', { name: 'x' }],
		['prompts not an array', '/api/prompts', { prompts: 'hello' }],
		['prompt without text', '/api/prompts', { prompts: [{ split: 'train' }] }],
		['prompt text a number', '/api/prompts', { prompts: [{ text: 5 }] }],
		['prompt with empty text', '/api/prompts', { prompts: [{ text: '' }] }],
		['prompt with unknown split', '/api/prompts', { prompts: [{ text: 'x', split: 'test' }] }],
		['prompt meta not an object', '/api/prompts', { prompts: [{ text: 'x', meta: 'm' }] }],
		['one bad prompt among good ones', '/api/prompts', { prompts: [{ text: 'fine' }, { text: 'also fine' }, { text: 3 }] }],
		['responses not an array', `/api/prompts/${pid}/responses`, { responses: 'x' }],
		['response without text', `/api/prompts/${pid}/responses`, { responses: [{ model: 'm' }] }],
		['response model a number', `/api/prompts/${pid}/responses`, { responses: [{ text: 'x', model: 3 }] }],
		['empty responses', `/api/prompts/${pid}/responses`, { responses: [] }],
		['generate k as string', '/api/generate', { k: '4' }],
		['generate k zero', '/api/generate', { k: 0 }],
		['generate split unknown', '/api/generate', { split: 'test' }],
		['generate prompt_ids not array', '/api/generate', { prompt_ids: 3 }],
		['train without kind', '/api/train', {}],
		['train unknown kind', '/api/train', { kind: 'magic' }],
		['train params not object', '/api/train', { kind: 'sft', params: [] }],
	];
	for (const [what, p, body] of cases) await rejects(t, what, 400, () => srv.admin.post(p, body));
	// NDJSON: one bad line makes the whole import fail.
	for (const [what, body] of [
		['ndjson with a malformed line', '{"prompt": "ok 1"}\n{"prompt": \n{"prompt": "ok 2"}\n'],
		['ndjson line without prompt', '{"prompt": "ok 1"}\n{"nothing": 1}\n'],
		['ndjson prompt a number', '{"prompt": 12}\n'],
		['ndjson responses not strings', '{"prompt": "p", "responses": [1, 2]}\n'],
	]) await rejects(t, what, 400, () => srv.admin.post('/api/prompts', body, { raw: true, contentType: 'application/x-ndjson' }));
	// Bad query parameters.
	await rejects(t, 'prompts limit not a number', 400, () => srv.admin.get('/api/prompts?limit=abc'));
	await rejects(t, 'prompts unknown split', 400, () => srv.admin.get('/api/prompts?split=test'));
	await rejects(t, 'sft min_score not a number', 400, () => srv.admin.get('/api/export/sft.jsonl?min_score=high'));
	await rejects(t, 'prompt id not a number', 404, () => srv.admin.get('/api/prompts/abc'));
});

test('auth errors: 401 without/with a bad token, 403 for a rater on admin endpoints', async (t) => {
	const body = { group_id: G1.groupId, ratings: [good()] };
	await rejects(t, 'no token', 401, () => srv.client(null).post('/api/ratings', body));
	await rejects(t, 'bad token', 401, () => srv.client('bad-token').post('/api/ratings', body));
	await rejects(t, 'rater creating a rater', 403, () => ann.client.post('/api/raters', { name: 'mallory', role: 'admin' }));
	await rejects(t, 'rater importing prompts', 403, () => ann.client.post('/api/prompts', { prompts: [{ text: 'x' }] }));
	await rejects(t, 'rater changing config', 403, () => ann.client.put('/api/config', { ratings_per_group: 5 }));
	await rejects(t, 'rater exporting', 403, () => ann.client.get('/api/export/ratings.jsonl'));
});

test('405 for a known path with the wrong method', async (t) => {
	for (const [method, p] of [
		['DELETE', '/api/raters'], ['PUT', '/api/raters'], ['GET', '/api/ratings'], ['PUT', '/api/ratings'],
		['POST', '/api/stats'], ['POST', '/api/config'], ['DELETE', '/api/config'], ['POST', '/api/tasks/next'],
		['GET', `/api/tasks/${G1.groupId}/skip`], ['POST', '/api/export/ratings.jsonl'], ['POST', '/healthz'],
		['DELETE', `/api/prompts/${G1.promptId}`], ['GET', '/api/login'],
	]) {
		await rejects(t, `${method} ${p}`, 405, () => srv.admin.call(method, p, method === 'GET' || method === 'DELETE' ? undefined : {}),
			(res) => assert.ok(res.headers.get('allow'), `405 for ${method} ${p} names the allowed methods (Allow header)`));
	}
});

test('409: cancelling a job that already finished', async (t) => {
	const before = await snapshot(srv);
	const j = await srv.admin.post('/api/train', { kind: 'sft' });
	assert.equal(j.status, 202, j.text);
	assert.ok(Number.isInteger(j.json.job_id));
	const c = await srv.admin.post(`/api/jobs/${j.json.job_id}/cancel`, {});
	// 409 when the worker already ran it to its end (an sft job with no model fails at once)
	assert.ok([200, 409].includes(c.status), c.text);
	// Wait until the job is finished (cancelled at once when queued; a worker may have started it).
	let job;
	for (let i = 0; i < 100; i++) {
		job = (await srv.admin.get(`/api/jobs/${j.json.job_id}`)).json;
		if (['succeeded', 'failed', 'cancelled'].includes(job.status)) break;
		await new Promise((r) => setTimeout(r, 50));
	}
	assert.ok(['succeeded', 'failed', 'cancelled'].includes(job.status), `job finished: ${JSON.stringify(job)}`);
	const jobsBefore = (await srv.admin.get('/api/jobs')).json;
	const again = await srv.admin.post(`/api/jobs/${j.json.job_id}/cancel`, {});
	assertError(again, 409, 'cancel a finished job');
	assert.deepEqual((await srv.admin.get('/api/jobs')).json, jobsBefore, 'jobs unchanged');
	await assertUnchanged(srv, before, 'the job test (ratings, prompts, raters untouched)');
});

test('409: a reward model cannot be activated or generate', async (t) => {
	// No API call creates a model before the worker exists: the row is put in the
	// database directly (schema: migrations/0001_init.sql), as a finished reward job would.
	const db = path.join(srv.dataDir, 'rlhfd.db');
	const id = Number(sqlite(db, "INSERT INTO model_versions(kind, name, created_at) VALUES ('reward', 'test-reward', strftime('%s','now')) RETURNING id"));
	assert.ok(id > 0);
	await rejects(t, 'activate a reward model', 409, () => srv.admin.post(`/api/models/${id}/activate`, {}));
	await rejects(t, 'generate with a reward model', 409, () => srv.admin.post('/api/generate', { model_id: id }));
	const models = (await srv.admin.get('/api/models')).json.models;
	assert.equal(models.find((m) => m.id === id).active, false);
});

/*
 * POST over a plain socket: fetch() (undici) reports "fetch failed" when the
 * server answers 413 and closes before the whole body is written, although the
 * answer arrived; curl and browsers read it.  rawRequest reads it too.
 */
function postRaw(p, token, body, { contentType = 'application/json', chunked = false, announce } = {}) {
	const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
	const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${announce ?? buf.length}`;
	const head = `POST ${p} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${token}\nContent-Type: ${contentType}\nConnection: close\n${framing}`;
	const parts = [];
	const step = 256 * 1024;
	for (let i = 0; i < buf.length; i += step) parts.push(chunked ? chunk(buf.subarray(i, i + step)) : buf.subarray(i, i + step));
	if (chunked) parts.push(LAST_CHUNK);
	return rawRequest(srv.port, head, parts);
}

test('413: bodies over the cap, with Content-Length and chunked; nothing stored; server fine', async (t) => {
	const cfg = (await srv.admin.get('/api/config')).json;
	const cap = cfg.max_body_bytes;
	assert.ok(cap > 0);
	// One valid JSON document just over the cap, sent whole as browsers and fetch() do.
	const big = JSON.stringify({ prompts: [{ text: 'x'.repeat(cap + 1024) }] });
	await rejects(t, 'Content-Length over the cap, body sent', 413, () => postRaw('/api/prompts', srv.adminToken, big));
	// Announced Content-Length over the cap, body not sent: answered at once.
	await rejects(t, 'announced Content-Length over the cap', 413, () => postRaw('/api/prompts', srv.adminToken, '', { announce: cap + 1 }));
	// Chunked, no Content-Length: the cap is enforced while reading.
	await rejects(t, 'chunked body over the cap', 413, () => postRaw('/api/prompts', srv.adminToken, big, { chunked: true }));
	// Also with NDJSON and on the rating endpoint (chunked and not).
	const nd = Array.from({ length: Math.ceil(cap / 1000) + 10 }, (_, i) => JSON.stringify({ prompt: `p${i} ` + 'z'.repeat(990) })).join('\n');
	await rejects(t, 'ndjson over the cap', 413, () => postRaw('/api/prompts', srv.adminToken, nd, { contentType: 'application/x-ndjson' }));
	await rejects(t, 'chunked ndjson over the cap', 413, () => postRaw('/api/prompts', srv.adminToken, nd, { contentType: 'application/x-ndjson', chunked: true }));
	const bigRating = JSON.stringify({ group_id: G1.groupId, ratings: [{ ...good(), comment: 'c'.repeat(cap) }] });
	await rejects(t, 'rating over the cap', 413, () => postRaw('/api/ratings', ann.token, bigRating));
	await rejects(t, 'chunked rating over the cap', 413, () => postRaw('/api/ratings', ann.token, bigRating, { chunked: true }));
	// Just under the cap is accepted (the limit is the body size, not less); 8 prompts
	// of just under cap/8 bytes each (a single text may have its own, smaller limit).
	const each = Math.floor(cap / 8) - 64;
	const fits = JSON.stringify({ prompts: Array.from({ length: 8 }, (_, i) => ({ text: String(i) + 'f'.repeat(each - 1) })) });
	assert.ok(Buffer.byteLength(fits) <= cap);
	assert.ok(Buffer.byteLength(fits) > cap - 1024);
	const ok = await postRaw('/api/prompts', srv.adminToken, fits);
	assert.equal(ok.status, 201, ok.text);
	assert.equal(ok.json.inserted, 8);

	// A lowered cap applies at once; a body under it still works.
	const lowered = await srv.admin.put('/api/config', { max_body_bytes: 4096 });
	assert.equal(lowered.status, 200, lowered.text);
	try {
		assertError(await postRaw('/api/prompts', srv.adminToken, JSON.stringify({ prompts: [{ text: 'q'.repeat(5000) }] })), 413, 'over a lowered cap');
		const small = await srv.admin.post('/api/prompts', { prompts: [{ text: 'small prompt' }] });
		assert.equal(small.status, 201, small.text);
	} finally {
		assert.equal((await srv.admin.put('/api/config', { max_body_bytes: cap })).status, 200);
	}
	assert.equal((await srv.client(null).get('/healthz')).status, 200);
});

test('path tricks never escape the web directory and never 5xx', async (t) => {
	for (const p of ['/../Makefile', '/..%2fMakefile', '/js/../../Makefile', '/%2e%2e/%2e%2e/etc/passwd', '/web/../server/cli/main.c', '//etc/passwd', '/js/%2e%2e/%2e%2e/Makefile']) {
		const r = await rawRequest(srv.port, `GET ${p} HTTP/1.1\nHost: 127.0.0.1\nConnection: close`);
		assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
		assert.ok(!r.text.includes('root:x:0:0') && !r.text.includes('CFLAGS') && !r.text.includes('cmd_serve'), `${p} leaked a file`);
	}
});

test('after all the bad requests the server still answers', async (t) => {
	assert.equal((await srv.client(null).get('/healthz')).status, 200);
	assert.equal((await ann.client.get('/api/me')).status, 200);
	const r = await rate(ann, { group_id: G1.groupId, ratings: [good()] });
	assert.equal(r.status, 201, r.text);
});
