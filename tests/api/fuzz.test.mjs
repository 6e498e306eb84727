/*
 * tests/api/fuzz.test.mjs — "a bad request never crashes the server, never
 * returns 5xx": seeded random mutations of valid bodies (type confusion,
 * extreme numbers, NUL bytes, deep nesting) against every endpoint that takes
 * a body, odd ids in paths, and odd query strings.  Every answer must be 2xx or
 * 4xx with the error shape, and the server must stay up.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, assertError } from '../lib/fixtures.mjs';

/* mulberry32: a tiny seeded PRNG, so a failure replays. */
function rng(seed) {
	return () => {
		seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const WEIRD = [null, true, false, 0, -1, 1.5, 1e300, -1e300, 9223372036854775807, 18446744073709551616, '', '0', 'x'.repeat(1000),
	'\u0000', 'a\u0000b', '\ud83d\ude00', [], [null], {}, { a: 1 }, [[[[[]]]]], 'NaN', -0];

function mutate(value, r, depth = 0) {
	if (r() < 0.25 || depth > 3) return WEIRD[Math.floor(r() * WEIRD.length)];
	if (Array.isArray(value)) {
		const out = value.map((v) => mutate(v, r, depth + 1));
		if (r() < 0.2) out.push(WEIRD[Math.floor(r() * WEIRD.length)]);
		return out;
	}
	if (value && typeof value === 'object') {
		const out = {};
		for (const [k, v] of Object.entries(value)) {
			if (r() < 0.15) continue;                       // drop a field
			out[k] = r() < 0.5 ? mutate(v, r, depth + 1) : v;
		}
		if (r() < 0.15) out[`extra_${Math.floor(r() * 100)}`] = WEIRD[Math.floor(r() * WEIRD.length)];
		return out;
	}
	return r() < 0.5 ? WEIRD[Math.floor(r() * WEIRD.length)] : value;
}

function okOr4xx(res, what) {
	assert.ok(res.status < 500, `${what} → ${res.status} ${res.text.slice(0, 200)}`);
	if (res.status >= 400) assertError(res, res.status, what);
}

test('random mutations of valid bodies never give 5xx', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'fuzz prompt', ['f1', 'f2', 'f3']);
		const valid = [
			[ann.client, 'POST', '/api/ratings', { group_id: G.groupId, ratings: [{ response_id: G.responseIds[0], score: 3, helpful: 2, honest: 4, harmless: 5, comment: 'c', flags: ['unsafe'] }] }],
			[srv.admin, 'POST', '/api/raters', { name: 'fuzzed', role: 'rater' }],
			[srv.admin, 'POST', '/api/prompts', { prompts: [{ text: 'p', split: 'train', meta: { a: 1 } }] }],
			[srv.admin, 'POST', `/api/prompts/${G.promptId}/responses`, { responses: [{ text: 't', model: 'm' }] }],
			[srv.admin, 'PUT', '/api/config', { ratings_per_group: 1, lease_seconds: 600, auto_train: { enabled: false, reward_every_n_ratings: 50, rl_kind: 'ppo' } }],
			[srv.admin, 'POST', '/api/generate', { prompt_ids: [G.promptId], split: 'train', k: 2, temperature: 0.8, top_p: 0.9, max_tokens: 16, seed: 1 }],
			[srv.admin, 'POST', '/api/train', { kind: 'reward', params: { steps: 1 } }],
			[srv.client(null), 'POST', '/api/login', { token: 'x' }],
		];
		const r = rng(12345);
		let n = 0;
		for (let round = 0; round < 40; round++) {
			for (const [client, method, p, body] of valid) {
				const b = mutate(body, r);
				okOr4xx(await client.call(method, p, b), `${method} ${p} ${JSON.stringify(b).slice(0, 200)}`);
				n++;
			}
		}
		assert.ok(n >= 300);
		// Config must still be sane afterwards (every accepted PUT was validated).
		const cfg = (await srv.admin.get('/api/config')).json;
		assert.ok(Number.isInteger(cfg.ratings_per_group) && cfg.ratings_per_group >= 1);
		assert.ok(Number.isInteger(cfg.lease_seconds) && cfg.lease_seconds >= 1);
		assert.equal((await srv.client(null).get('/healthz')).status, 200);
	} finally { await srv.stop(); }
});

test('deep nesting, huge numbers, odd ids and queries never give 5xx', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		for (const body of ['['.repeat(100000), '{"a":'.repeat(50000), '[' + '1,'.repeat(200000) + '1]',
			'{"group_id": 1e999, "ratings": []}', '{"group_id": 99999999999999999999999, "ratings": []}',
			'{"group_id": -9223372036854775808, "ratings": [{"response_id": 1, "score": 3}]}',
			'\ufeff{"group_id": 1, "ratings": []}', '{"group_id": 1, "group_id": 2, "ratings": []}']) {
			okOr4xx(await ann.client.post('/api/ratings', body, { raw: true }), `ratings body ${body.slice(0, 60)}`);
			okOr4xx(await srv.admin.post('/api/prompts', body, { raw: true }), `prompts body ${body.slice(0, 60)}`);
		}
		for (const id of ['0', '-1', '1.5', '1e3', '99999999999999999999', '9223372036854775808', '%00', 'abc', '', '1%2F2', '0x10']) {
			for (const [client, method, p] of [
				[srv.admin, 'GET', `/api/prompts/${id}`], [srv.admin, 'POST', `/api/prompts/${id}/responses`],
				[ann.client, 'POST', `/api/tasks/${id}/skip`], [srv.admin, 'GET', `/api/jobs/${id}`],
				[srv.admin, 'POST', `/api/jobs/${id}/cancel`], [srv.admin, 'POST', `/api/models/${id}/activate`],
			]) {
				const res = await client.call(method, p, method === 'POST' ? { responses: [{ text: 'x' }] } : undefined);
				okOr4xx(res, `${method} ${p}`);
				assert.ok(res.status >= 400, `${method} ${p} → ${res.status}: not a valid id`);
			}
		}
		for (const q of ['limit=-1', 'limit=0', 'limit=99999999999999999999', 'after=-5', 'after=abc', 'split=', 'limit=1&limit=2', '%ff%fe=1', 'after=1e3']) {
			okOr4xx(await srv.admin.get(`/api/prompts?${q}`), `prompts?${q}`);
		}
		for (const q of ['since=yesterday', 'since=-1', 'min_raters=-3', 'min_raters=x', 'split=test', 'min_score=9', 'since=99999999999999999999']) {
			for (const e of ['ratings.jsonl', 'pairs.jsonl', 'sft.jsonl', 'ratings.csv']) okOr4xx(await srv.admin.get(`/api/export/${e}?${q}`), `${e}?${q}`);
		}
		// Headers: an absurd Authorization, a cookie of junk.
		okOr4xx(await srv.client(null).get('/api/me', { headers: { Authorization: 'Bearer ' + 'a'.repeat(6000) } }), 'long bearer');
		okOr4xx(await srv.client(null).get('/api/me', { headers: { Cookie: 'rlhfd_session=' + '\u00ff'.repeat(10) + '; x=y' } }), 'junk cookie');
		assert.equal((await srv.client(null).get('/healthz')).status, 200);
	} finally { await srv.stop(); }
});
