/*
 * tests/api/group_commit.test.mjs — `rlhfd serve --durability full|normal`.
 *
 * 1. The default is full, and it is what is in effect: GET /api/stats reads
 *    back PRAGMA synchronous from the connection that commits ratings (the
 *    group-commit writer), and the start-up line says so; --durability normal
 *    reads back normal; any other value is refused.
 * 2. Many ratings posted at once, some of them refused (an answer of another
 *    group: 400; no such group: 404; no such answer: 404), are grouped into
 *    few commits; every valid one is answered 201, every refused one with
 *    its own status and nothing stored, and after kill -9 and a restart every
 *    acknowledged rating is there, with nothing else.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startServer, BIN } from '../lib/server.mjs';
import { createRater, importGroupsNdjson, exportedRatings, assertError } from '../lib/fixtures.mjs';

test('durability full is the default and in effect; normal on request; other values refused', async () => {
	const full = await startServer();
	try {
		const d = (await full.admin.get('/api/stats')).json.durability;
		assert.equal(d.mode, 'full');
		assert.equal(d.ratings_synchronous, 'full', 'PRAGMA synchronous read back on the ratings writer');
		assert.equal(typeof d.group_commit.commits, 'number');
		assert.match(full.output().stderr, /durability full: .*synchronous=full/);
	} finally { await full.stop(); }

	const normal = await startServer({ args: ['--durability', 'normal'] });
	try {
		const d = (await normal.admin.get('/api/stats')).json.durability;
		assert.equal(d.mode, 'normal');
		assert.equal(d.ratings_synchronous, 'normal');
		assert.equal(d.group_commit, undefined);
		assert.match(normal.output().stderr, /durability normal: .*synchronous=normal/);
	} finally { await normal.stop(); }

	const bad = spawnSync(BIN, ['serve', '--port', '0', '--data', '/nonexistent/never', '--durability', 'fast'],
		{ encoding: 'utf8', timeout: 10000 });
	assert.equal(bad.status, 2, bad.stderr);
	assert.match(bad.stderr, /--durability must be 'full' or 'normal'/);
});

test('ratings posted at once: grouped commits, each answered as alone, all there after kill -9', async () => {
	const srv = await startServer({ keepData: true });
	const dataDir = srv.dataDir;
	try {
		const N_RATERS = 48, PER_RATER = 8, K = 3, N_GROUPS = 64;
		const raters = await Promise.all(Array.from({ length: N_RATERS }, (_, i) => createRater(srv, `gc-${i}`)));
		const ids = await importGroupsNdjson(srv, Array.from({ length: N_GROUPS }, (_, g) =>
			({ prompt: `group commit ${g}`, responses: Array.from({ length: K }, (_, k) => `answer ${g}.${k}`) })));
		const groups = await Promise.all(ids.map(async (id) => {
			const d = (await srv.admin.get(`/api/prompts/${id}`)).json;
			return { id: d.responses[0].group_id, rids: d.responses.map((r) => r.id) };
		}));
		const maxGroup = Math.max(...groups.map((g) => g.id));
		const maxResponse = Math.max(...groups.flatMap((g) => g.rids));
		const before = (await srv.admin.get('/api/stats')).json.durability.group_commit;

		// Every rater posts PER_RATER requests back to back, all raters at once
		// (48 connections); one request in four is refused, each for its reason.
		const acked = new Map();   // `${rater}|${response}` → score
		const outcomes = [];
		await Promise.all(raters.map(async (r, ri) => {
			for (let j = 0; j < PER_RATER; j++) {
				const c = ri * PER_RATER + j;
				const g = groups[c % N_GROUPS];
				const ratings = g.rids.map((rid) => ({ response_id: rid, score: ((rid + ri + j) % 5) + 1 }));
				let body = { group_id: g.id, ratings }, want = 201;
				if (c % 12 === 3) {           // an answer of another group
					body = { group_id: g.id, ratings: [...ratings.slice(1), { response_id: groups[(c + 1) % N_GROUPS].rids[0], score: 3 }] };
					want = 400;
				} else if (c % 12 === 7) {    // no such group
					body = { group_id: maxGroup + 1000, ratings };
					want = 404;
				} else if (c % 12 === 11) {   // no such answer
					body = { group_id: g.id, ratings: [ratings[0], { response_id: maxResponse + 1000, score: 2 }] };
					want = 404;
				}
				const res = await r.client.post('/api/ratings', body);
				outcomes.push({ want, res });
				if (res.status === 201) {
					assert.equal(res.json.saved, body.ratings.length);
					for (const x of body.ratings) acked.set(`${r.name}|${x.response_id}`, x.score);
				}
			}
		}));
		for (const { want, res } of outcomes) {
			if (want === 201) assert.equal(res.status, 201, `a valid rating: ${res.status} ${res.text}`);
			else assertError(res, want, 'a refused rating among others');
		}
		const valid = outcomes.filter((o) => o.want === 201).length;
		assert.equal(acked.size, valid * K);
		const refused = outcomes.find((o) => o.want === 400).res.json.error;
		assert.match(refused.field, /^ratings\[\d\]\.response_id$/);

		// Grouped: fewer commits than valid requests, several in one at least once.
		const after = (await srv.admin.get('/api/stats')).json.durability.group_commit;
		const commits = after.commits - before.commits, writes = after.writes - before.writes;
		assert.equal(writes, outcomes.length, 'every request went through the writer');
		assert.ok(commits < valid, `${commits} commits for ${valid} valid requests`);
		assert.ok(after.max_batch > 1, `largest batch ${after.max_batch}`);

		await srv.kill9();
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
			assert.equal(lines.length, acked.size, 'a refused request stored something');
		} finally { await again.stop(); }
	} finally {
		await srv.kill9();
		rmSync(dataDir, { recursive: true, force: true });
	}
});

test('SIGTERM while ratings wait for their commit (a pool of HTTP threads): a clean exit, every 201 kept', async () => {
	// A connection that suspends after http_stop has waited for the suspended
	// ones made MHD_stop_daemon abort the process (1 run in 6 before the fix).
	for (let round = 0; round < 4; round++) {
		const srv = await startServer({ keepData: true, args: ['--threads', '3'] });
		const dataDir = srv.dataDir;
		try {
			const raters = await Promise.all(Array.from({ length: 16 }, (_, i) => createRater(srv, `term-${i}`)));
			const ids = await importGroupsNdjson(srv, Array.from({ length: 8 }, (_, g) => ({ prompt: `term ${g}`, responses: ['x', 'y'] })));
			const groups = await Promise.all(ids.map(async (id) => {
				const d = (await srv.admin.get(`/api/prompts/${id}`)).json;
				return { id: d.responses[0].group_id, rids: d.responses.map((r) => r.id) };
			}));
			const acked = new Set();
			let stop = false;
			const loops = raters.map(async (r) => {
				for (let j = 0; j < groups.length && !stop; j++) {
					const g = groups[j];
					try {
						const s = await r.client.post('/api/ratings', { group_id: g.id, ratings: g.rids.map((x) => ({ response_id: x, score: 4 })) });
						if (s.status === 201) for (const x of g.rids) acked.add(`${r.name}|${x}`);
					} catch (e) { /* cut by the stop: not acknowledged */ }
				}
			});
			await new Promise((res) => setTimeout(res, 5 + 10 * round));
			await srv.stop();
			stop = true;
			await Promise.all(loops);
			assert.deepEqual(srv.exited(), { code: 0, signal: null }, srv.output().stderr.slice(-500));
			const again = await startServer({ dataDir, adminToken: srv.adminToken });
			try {
				const stored = new Set((await exportedRatings(again)).map((l) => `${typeof l.rater === 'string' ? l.rater : raters.find((x) => x.id === l.rater)?.name}|${l.response_id}`));
				for (const k of acked) assert.ok(stored.has(k), `${k} acknowledged, then lost`);
			} finally { await again.stop(); }
		} finally {
			await srv.kill9();
			rmSync(dataDir, { recursive: true, force: true });
		}
	}
});
