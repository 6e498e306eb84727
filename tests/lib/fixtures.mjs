/*
 * tests/lib/fixtures.mjs — building blocks the API tests share: raters, prompts
 * with a group of answers, the error-shape assertion, and a snapshot of every
 * piece of stored state the API shows (to prove a rejected request changed nothing).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseJsonl } from './server.mjs';

/* Creates a rater (or admin) through the API; returns its fields plus a client. */
export async function createRater(srv, name, role = 'rater') {
	const r = await srv.admin.post('/api/raters', { name, role });
	assert.equal(r.status, 201, `create rater '${name}': ${r.status} ${r.text}`);
	assert.equal(typeof r.json.token, 'string');
	return { ...r.json, client: srv.client(r.json.token) };
}

/* Imports one prompt and one group of answers; returns ids and texts. */
export async function importGroup(srv, promptText, responses, split) {
	const p = await srv.admin.post('/api/prompts', { prompts: [{ text: promptText, ...(split ? { split } : {}) }] });
	assert.equal(p.status, 201, `import prompt: ${p.status} ${p.text}`);
	const promptId = p.json.ids[0];
	const body = { responses: responses.map((x) => (typeof x === 'string' ? { text: x } : x)) };
	const g = await srv.admin.post(`/api/prompts/${promptId}/responses`, body);
	assert.equal(g.status, 201, `import responses: ${g.status} ${g.text}`);
	assert.equal(g.json.ids.length, responses.length);
	return {
		promptId, groupId: g.json.group_id, responseIds: g.json.ids, prompt: promptText,
		texts: body.responses.map((x) => x.text),
	};
}

/* Many groups in one NDJSON request ({"prompt", "responses"} lines). */
export async function importGroupsNdjson(srv, items) {
	const body = items.map((it) => JSON.stringify({ prompt: it.prompt, responses: it.responses })).join('\n') + '\n';
	const r = await srv.admin.post('/api/prompts', body, { raw: true, contentType: 'application/x-ndjson' });
	assert.equal(r.status, 201, `ndjson import: ${r.status} ${r.text.slice(0, 300)}`);
	assert.equal(r.json.inserted, items.length);
	return r.json.ids;
}

/* The ids of a prompt's groups and answers, read back through the admin API. */
export async function promptDetail(srv, promptId) {
	const r = await srv.admin.get(`/api/prompts/${promptId}`);
	assert.equal(r.status, 200, `prompt detail: ${r.status} ${r.text}`);
	return r.json;
}

/*
 * Asserts the API error convention: exact status, JSON body
 * {"error": {"code": "<snake_case>", "message": "<non-empty>"}}.
 */
export function assertError(res, status, what = '') {
	const ctx = `${what} → ${res.status} ${res.text.slice(0, 300)}`;
	assert.equal(res.status, status, ctx);
	assert.ok(res.json && typeof res.json === 'object', `error body is not JSON: ${ctx}`);
	assert.ok(res.json.error && typeof res.json.error === 'object', `no "error" object: ${ctx}`);
	assert.match(String(res.json.error.code), /^[a-z][a-z0-9_]*$/, `error.code not snake_case: ${ctx}`);
	assert.equal(typeof res.json.error.message, 'string', `error.message: ${ctx}`);
	assert.ok(res.json.error.message.length > 0, `empty error.message: ${ctx}`);
	const ct = res.headers.get('content-type') || '';
	assert.match(ct, /application\/json/, `error content-type '${ct}': ${ctx}`);
}

/* Every prompt, following next_after. */
export async function allPrompts(srv, query = '') {
	const out = [];
	let after = null;
	for (let guard = 0; guard < 10000; guard++) {
		const q = new URLSearchParams(query);
		q.set('limit', '100');
		if (after !== null) q.set('after', String(after));
		const r = await srv.admin.get(`/api/prompts?${q}`);
		assert.equal(r.status, 200, r.text);
		out.push(...r.json.prompts);
		if (r.json.next_after === null || r.json.next_after === undefined || r.json.prompts.length === 0) break;
		after = r.json.next_after;
	}
	return out;
}

/* The current ratings, sorted, from the JSONL export. */
export async function exportedRatings(srv, query = '') {
	const r = await srv.admin.get('/api/export/ratings.jsonl' + (query ? '?' + query : ''));
	assert.equal(r.status, 200, r.text);
	return parseJsonl(r.text).sort((a, b) => (a.response_id - b.response_id) || String(a.rater).localeCompare(String(b.rater)));
}

/* All state visible through the admin API, for before/after comparisons. */
export async function snapshot(srv) {
	const st = await srv.admin.get('/api/stats');
	assert.equal(st.status, 200, st.text);
	const { prompts, responses, ratings, raters, score_histogram, agreement, per_rater } = st.json;
	const rl = await srv.admin.get('/api/raters');
	const cfg = await srv.admin.get('/api/config');
	const ps = await allPrompts(srv);
	const details = [];
	for (const p of ps) details.push((await srv.admin.get(`/api/prompts/${p.id}`)).json);
	return {
		stats: { prompts, responses, ratings, raters, score_histogram, agreement, per_rater },
		raters: rl.json, config: cfg.json, prompts: ps, details,
		ratings: await exportedRatings(srv),
	};
}

export async function assertUnchanged(srv, before, what) {
	const after = await snapshot(srv);
	assert.deepEqual(after, before, `state changed after ${what}`);
}

export function mean(xs) { return xs.reduce((a, b) => a + b, 0) / xs.length; }

/* Asserts every key of expected is in actual with an equal value (extra keys are allowed: API.md lets fields be added). */
export function assertHas(actual, expected, what = '') {
	assert.ok(actual && typeof actual === 'object', `${what}: not an object: ${JSON.stringify(actual)}`);
	for (const [k, v] of Object.entries(expected)) assert.deepEqual(actual[k], v, `${what}: field '${k}' of ${JSON.stringify(actual)}`);
}

/*
 * Runs one SQL statement on a server's database (read-side checks the API does
 * not expose, e.g. rating history) with python3's sqlite3 module — python3 is in
 * the Makefile's TEST_PKGS, the sqlite3 shell is not.  Returns rows joined as
 * the sqlite3 shell prints them: columns by '|', rows by '\n'.
 */
export function sqlite(dbPath, sql) {
	const py = 'import sqlite3, sys\n' +
		'c = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)\n' +
		'rows = c.execute(sys.argv[2]).fetchall()\n' +
		'print("\\n".join("|".join("" if v is None else str(v) for v in r) for r in rows))\n';
	return execFileSync('python3', ['-c', py, dbPath, sql]).toString().trim();
}
