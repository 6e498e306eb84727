/*
 * tests/api/concurrency.test.mjs — many raters at once.  16 raters work through
 * the task queue in parallel with ratings_per_group = 2 while others post ratings
 * by group id; afterwards every acknowledged (201) rating is stored exactly once,
 * the counts add up, and no group was handed to more than two raters or twice to
 * one rater.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroupsNdjson, exportedRatings } from '../lib/fixtures.mjs';

const N_RATERS = 16, N_GROUPS = 48, K = 4, PER_GROUP = 2;

test('16 raters in parallel: every 201 stored exactly once, no group over-assigned', async () => {
	const srv = await startServer();
	try {
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: PER_GROUP })).status, 200);
		const raters = await Promise.all(Array.from({ length: N_RATERS }, (_, i) => createRater(srv, `rater-${i}`)));
		const items = Array.from({ length: N_GROUPS }, (_, g) => ({ prompt: `concurrent prompt ${g}`, responses: Array.from({ length: K }, (_, k) => `answer ${g}.${k}`) }));
		const promptIds = await importGroupsNdjson(srv, items);
		assert.equal(promptIds.length, N_GROUPS);

		const acked = new Map();          // `${rater}|${response}` → score, from 201s only
		const servedTo = new Map();       // group → [rater names] handed out by /api/tasks/next
		let failures = [];
		const scoreFor = (ri, rid) => ((ri * 7 + rid) % 5) + 1;

		// Phase 1: everyone drains the queue at once.
		await Promise.all(raters.map(async (r, ri) => {
			for (let guard = 0; guard < N_GROUPS + 5; guard++) {
				const res = await r.client.get('/api/tasks/next');
				if (res.status === 204) return;
				if (res.status !== 200) { failures.push(`next ${res.status} ${res.text}`); return; }
				const t = res.json.task;
				const list = servedTo.get(t.group_id) || [];
				list.push(r.name);
				servedTo.set(t.group_id, list);
				const ratings = t.responses.map((x) => ({ response_id: x.id, score: scoreFor(ri, x.id) }));
				const s = await r.client.post('/api/ratings', { group_id: t.group_id, ratings });
				if (s.status !== 201) { failures.push(`rate ${s.status} ${s.text}`); continue; }
				assert.equal(s.json.saved, K);
				for (const x of ratings) acked.set(`${r.name}|${x.response_id}`, x.score);
			}
			failures.push(`${r.name} never got 204`);
		}));
		assert.deepEqual(failures, []);
		for (const [g, who] of servedTo) {
			assert.ok(who.length <= PER_GROUP, `group ${g} handed to ${who.length} raters: ${who}`);
			assert.equal(new Set(who).size, who.length, `group ${g} handed twice to one rater: ${who}`);
		}
		// Every group was handed out exactly PER_GROUP times (all raters drained the queue).
		assert.equal(servedTo.size, N_GROUPS);
		for (const who of servedTo.values()) assert.equal(who.length, PER_GROUP);
		assert.equal(acked.size, N_GROUPS * K * PER_GROUP);

		// Phase 2: posting by group id in parallel (re-rating replaces; new pairs add).
		const detail = await Promise.all(promptIds.map((id) => srv.admin.get(`/api/prompts/${id}`)));
		const groups = detail.map((d) => ({ id: d.json.responses[0].group_id, rids: d.json.responses.map((r) => r.id) }));
		failures = [];
		await Promise.all(raters.map(async (r, ri) => {
			for (let j = 0; j < 12; j++) {
				const g = groups[(ri * 5 + j) % groups.length];
				const ratings = g.rids.map((rid) => ({ response_id: rid, score: ((ri + j + rid) % 5) + 1 }));
				const s = await r.client.post('/api/ratings', { group_id: g.id, ratings });
				if (s.status !== 201) { failures.push(`rate ${s.status} ${s.text}`); continue; }
				for (const x of ratings) acked.set(`${r.name}|${x.response_id}`, x.score);
			}
		}));
		assert.deepEqual(failures, []);

		// Every acknowledged rating is stored exactly once with its last score.
		const lines = await exportedRatings(srv);
		const stored = new Map();
		for (const l of lines) {
			const who = typeof l.rater === 'string' ? l.rater : raters.find((x) => x.id === l.rater)?.name;
			const key = `${who}|${l.response_id}`;
			assert.ok(!stored.has(key), `${key} stored twice`);
			stored.set(key, l.score);
		}
		assert.deepEqual(new Map([...stored].sort()), new Map([...acked].sort()));
		const st = (await srv.admin.get('/api/stats')).json;
		assert.equal(st.ratings, acked.size);
		const hist = [0, 0, 0, 0, 0];
		for (const s of acked.values()) hist[s - 1]++;
		assert.deepEqual(st.score_histogram, hist);
		const perRater = Object.fromEntries(st.per_rater.map((x) => [x.name, x.ratings]));
		for (const r of raters) {
			const n = [...acked.keys()].filter((k) => k.startsWith(r.name + '|')).length;
			assert.equal(perRater[r.name] ?? 0, n, `per-rater count of ${r.name}`);
		}
	} finally { await srv.stop(); }
});
