/*
 * tests/api/durability.test.mjs — "a rating the server acknowledged is on disk":
 * raters post ratings as fast as they can, the server is killed with SIGKILL in
 * the middle, restarted on the same data directory, and every rating answered
 * 201 before the kill must be there with its score.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, sleep } from '../lib/server.mjs';
import { createRater, importGroupsNdjson, exportedRatings } from '../lib/fixtures.mjs';

test('kill -9 loses no acknowledged rating', async () => {
	const srv = await startServer({ keepData: true });
	const dataDir = srv.dataDir;
	try {
		const raters = await Promise.all(Array.from({ length: 8 }, (_, i) => createRater(srv, `k${i}`)));
		const N = 400, K = 3;
		const ids = await importGroupsNdjson(srv, Array.from({ length: N }, (_, g) => ({ prompt: `durable ${g}`, responses: [`a${g}`, `b${g}`, `c${g}`] })));
		// Group and answer ids, read back in one pass over the export of prompts.
		const groups = [];
		for (let i = 0; i < ids.length; i += 50) {
			const ds = await Promise.all(ids.slice(i, i + 50).map((id) => srv.admin.get(`/api/prompts/${id}`)));
			for (const d of ds) groups.push({ id: d.json.responses[0].group_id, rids: d.json.responses.map((r) => r.id) });
		}
		assert.equal(groups.length, N);

		const acked = new Map();   // `${rater}|${response}` → score
		let stop = false, inFlight = 0, errors = 0;
		const loops = raters.map(async (r, ri) => {
			for (let j = 0; j < N && !stop; j++) {
				const g = groups[(j + ri * 37) % N];
				const ratings = g.rids.map((rid) => ({ response_id: rid, score: ((rid + ri) % 5) + 1 }));
				inFlight++;
				try {
					const s = await r.client.post('/api/ratings', { group_id: g.id, ratings });
					if (s.status === 201) for (const x of ratings) acked.set(`${r.name}|${x.response_id}`, x.score);
				} catch (e) { errors++; /* killed mid-request: not acknowledged */ }
				inFlight--;
			}
		});
		// Let a good number of ratings through, then kill while requests are in flight.
		const t0 = Date.now();
		while (acked.size < 600 && Date.now() - t0 < 10000) await sleep(20);
		await srv.kill9();
		stop = true;
		await Promise.all(loops);
		assert.ok(acked.size >= 600, `only ${acked.size} ratings acknowledged before the kill`);
		assert.equal(srv.exited().signal, 'SIGKILL');

		const again = await startServer({ dataDir, adminToken: srv.adminToken });
		try {
			const lines = await exportedRatings(again);
			const stored = new Map(lines.map((l) => [`${typeof l.rater === 'string' ? l.rater : raters.find((x) => x.id === l.rater)?.name}|${l.response_id}`, l.score]));
			let missing = 0, wrong = 0;
			for (const [k, score] of acked) {
				if (!stored.has(k)) missing++;
				else if (stored.get(k) !== score) wrong++;
			}
			assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged ratings lost`);
			assert.equal(wrong, 0, `${wrong} acknowledged ratings with the wrong score`);
			// Requests cut by the kill may or may not have committed — but all-or-nothing per batch.
			const perGroup = new Map();
			for (const l of lines) {
				const k = `${l.rater}|${l.group_id}`;
				perGroup.set(k, (perGroup.get(k) || 0) + 1);
			}
			for (const [k, n] of perGroup) assert.equal(n, K, `batch ${k} partly stored (${n} of ${K})`);
			assert.equal((await again.admin.get('/api/stats')).json.ratings, lines.length);
		} finally { await again.stop(); }
	} finally {
		await srv.kill9();
		rmSync(dataDir, { recursive: true, force: true });
	}
});
