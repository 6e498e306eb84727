/*
 * tests/api/quality.test.mjs — quality control: marking groups gold
 * (PUT/DELETE /api/groups/{id}/gold) and refusing bad input without a change,
 * the share of gold groups in a rater's queue (config gold_share) against a
 * binomial tolerance computed here, the per-rater figures of GET /api/stats
 * (agreement with gold and with the other raters, computed here from the
 * scores this test submits; median seconds per task and the too-fast flag
 * against bounds taken from the test's own clock), and the review list of
 * flagged and commented answers with its filters (GET /api/review).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sleep } from '../lib/server.mjs';
import {
	createRater, importGroup, importGroupsNdjson, promptDetail, assertError, snapshot, assertUnchanged,
} from '../lib/fixtures.mjs';

const close = (x, y, what) => assert.ok(typeof x === 'number' && Math.abs(x - y) <= 1e-9, `${what}: ${x}, expected ${y}`);

async function perRater(srv, id) {
	const st = await srv.admin.get('/api/stats');
	assert.equal(st.status, 200, st.text);
	const r = st.json.per_rater.find((x) => x.id === id);
	assert.ok(r, `rater ${id} in per_rater`);
	return { r, stats: st.json };
}

async function rate(rater, groupId, ids, scores, extra = {}) {
	const res = await rater.client.post('/api/ratings', {
		group_id: groupId,
		ratings: ids.map((id, i) => ({ response_id: id, score: scores[i], ...(extra[i] || {}) })),
	});
	assert.equal(res.status, 201, res.text);
}

test('gold marking: bad input is a 4xx that changes nothing; a good PUT shows on the prompt page; DELETE undoes it', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const g = await importGroup(srv, 'Capital of Peru?', ['Lima.', 'Cusco.', 'I do not know.']);
		const other = await importGroup(srv, 'Capital of Chile?', ['Santiago.', 'Lima.']);
		const [a, b, c] = g.responseIds;
		const before = await snapshot(srv);
		const bad = [
			[{ scores: [{ response_id: a, score: 5 }, { response_id: b, score: 2 }] }, 'scores', 'an answer of the group left out'],
			[{ scores: [{ response_id: a, score: 5 }, { response_id: b, score: 2 }, { response_id: c, score: 0 }] }, 'scores[2].score', 'score 0'],
			[{ scores: [{ response_id: a, score: 5 }, { response_id: b, score: 6 }, { response_id: c, score: 1 }] }, 'scores[1].score', 'score 6'],
			[{ scores: [{ response_id: a, score: 5 }, { response_id: b, score: 2.5 }, { response_id: c, score: 1 }] }, 'scores[1].score', 'score 2.5'],
			[{ scores: [{ response_id: a, score: 5 }, { response_id: a, score: 2 }, { response_id: c, score: 1 }] }, 'scores[1].response_id', 'an answer twice'],
			[{ scores: [{ response_id: a, score: 5 }, { response_id: other.responseIds[0], score: 2 }, { response_id: c, score: 1 }] }, 'scores[1].response_id', 'an answer of another group'],
			[{ scores: [] }, 'scores', 'no scores'],
			[{ scores: 'all 5' }, 'scores', 'scores not an array'],
			[{}, 'scores', 'no scores key'],
			[{ scores: [5, 2, 1] }, 'scores[0]', 'numbers instead of objects'],
		];
		for (const [body, field, what] of bad) {
			const r = await srv.admin.put(`/api/groups/${g.groupId}/gold`, body);
			assertError(r, 400, what);
			assert.ok(r.json.error.message.includes(`'${field}`), `${what}: message names ${field}: ${r.json.error.message}`);
		}
		assertError(await srv.admin.put(`/api/groups/${g.groupId}/gold`, 'not json', { raw: true }), 400, 'not JSON');
		assertError(await srv.admin.put('/api/groups/999999/gold', { scores: [{ response_id: a, score: 3 }] }), 404, 'unknown group');
		assertError(await srv.admin.del('/api/groups/999999/gold'), 404, 'unknown group (DELETE)');
		assertError(await ann.client.put(`/api/groups/${g.groupId}/gold`, { scores: [{ response_id: a, score: 3 }] }), 403, 'a rater');
		for (const v of [1.5, -0.1, 'often', true])
			assertError(await srv.admin.put('/api/config', { gold_share: v }), 400, `gold_share ${v}`);
		for (const v of [-1, 'slow', 100000])
			assertError(await srv.admin.put('/api/config', { too_fast_seconds: v }), 400, `too_fast_seconds ${v}`);
		await assertUnchanged(srv, before, 'refused gold marks and settings');

		const ok = await srv.admin.put(`/api/groups/${g.groupId}/gold`,
			{ scores: [{ response_id: c, score: 1 }, { response_id: a, score: 5 }, { response_id: b, score: 2 }] });
		assert.equal(ok.status, 200, ok.text);
		assert.deepEqual(ok.json, { group_id: g.groupId, gold: 3 });
		const want = { [a]: 5, [b]: 2, [c]: 1 };
		for (const r of (await promptDetail(srv, g.promptId)).responses) assert.equal(r.gold_score, want[r.id], `answer ${r.id}`);
		for (const r of (await promptDetail(srv, other.promptId)).responses) assert.equal(r.gold_score, null);
		assert.equal((await srv.admin.get('/api/stats')).json.quality.gold_groups, 1);
		// marking again replaces the scores
		const again = await srv.admin.put(`/api/groups/${g.groupId}/gold`,
			{ scores: [{ response_id: a, score: 4 }, { response_id: b, score: 4 }, { response_id: c, score: 3 }] });
		assert.equal(again.status, 200, again.text);
		assert.deepEqual((await promptDetail(srv, g.promptId)).responses.map((r) => r.gold_score), [4, 4, 3]);

		// raters are not told: a gold task has the same fields as an ordinary one
		assert.equal((await srv.admin.put('/api/config', { gold_share: 1 })).status, 200);
		const t = await ann.client.get('/api/tasks/next');
		assert.equal(t.status, 200, t.text);
		assert.equal(t.json.task.group_id, g.groupId, 'gold_share 1: the gold group');
		assert.equal((await srv.admin.put('/api/config', { gold_share: 0 })).status, 200);
		const bob = await createRater(srv, 'bob');
		const o = await bob.client.get('/api/tasks/next');
		assert.equal(o.status, 200, o.text);
		assert.equal(o.json.task.group_id, other.groupId, 'gold_share 0: the ordinary group');
		assert.deepEqual(Object.keys(t.json.task).sort(), Object.keys(o.json.task).sort());
		assert.deepEqual(Object.keys(t.json).sort(), Object.keys(o.json).sort());
		for (const r of t.json.task.responses) assert.deepEqual(Object.keys(r).sort(), ['id', 'text']);
		assert.equal(JSON.stringify(t.json).includes('gold'), false);

		const del = await srv.admin.del(`/api/groups/${g.groupId}/gold`);
		assert.equal(del.status, 200, del.text);
		for (const r of (await promptDetail(srv, g.promptId)).responses) assert.equal(r.gold_score, null);
		assert.equal((await srv.admin.get('/api/stats')).json.quality.gold_groups, 0);
	} finally { await srv.stop(); }
});

/*
 * With gold_share p each new task is gold with probability p while both kinds
 * are left, so the gold count in N tasks is Binomial(N, p): mean Np, standard
 * deviation sqrt(Np(1-p)).  N = 300, p = 0.3: mean 90, sd 7.94; the test takes
 * ±4.5 sd, [54.3, 125.7] (a false failure about once in 150,000 runs), and has
 * 130 gold groups (more than 125.7) and 310 ordinary ones (more than 300) so no
 * kind runs out.  Then p = 0: no gold while ordinary groups are left; and once
 * only gold is left, gold is handed out whatever p.
 */
test('gold share: the gold tasks in a rater\'s queue follow Binomial(N, gold_share)', async () => {
	const srv = await startServer();
	try {
		const N = 300, P = 0.3, GOLD = 130, PLAIN = 310;
		const items = [];
		for (let i = 0; i < GOLD + PLAIN; i++) items.push({ prompt: `question ${i}`, responses: [`answer ${i}a`, `answer ${i}b`] });
		const ids = await importGroupsNdjson(srv, items);
		const gold = new Set();
		for (let i = 0; i < GOLD; i++) {
			// the gold ones spread over the id range: every third prompt from the start
			const p = await promptDetail(srv, ids[i * 3]);
			assert.ok(i * 3 < ids.length);
			const gid = p.responses[0].group_id;
			const r = await srv.admin.put(`/api/groups/${gid}/gold`,
				{ scores: p.responses.map((x, k) => ({ response_id: x.id, score: k ? 2 : 5 })) });
			assert.equal(r.status, 200, r.text);
			gold.add(gid);
		}
		assert.equal((await srv.admin.put('/api/config', { gold_share: P })).status, 200);
		const ann = await createRater(srv, 'ann');
		const remaining = async (r) => (await r.client.get('/api/me')).json.remaining;
		assert.equal(await remaining(ann), GOLD + PLAIN, 'remaining counts the gold groups too');
		let seen = 0;
		const taken = new Set();
		for (let i = 0; i < N; i++) {
			const t = await ann.client.get('/api/tasks/next');
			assert.equal(t.status, 200, t.text);
			const gid = t.json.task.group_id;
			assert.ok(!taken.has(gid), `group ${gid} handed out twice`);
			taken.add(gid);
			if (gold.has(gid)) seen++;
			assert.equal((await ann.client.post(`/api/tasks/${gid}/skip`, {})).status, 200);
		}
		assert.equal(await remaining(ann), GOLD + PLAIN - N);
		const mean = N * P, sd = Math.sqrt(N * P * (1 - P));
		assert.ok(Math.abs(seen - mean) <= 4.5 * sd, `gold tasks ${seen} of ${N}: expected ${mean} ± ${(4.5 * sd).toFixed(1)}`);

		// gold_share 0 (an integer: stored as 0.0, so a fraction is still taken later)
		const zero = await srv.admin.put('/api/config', { gold_share: 0 });
		assert.equal(zero.status, 200, zero.text);
		assert.equal(zero.json.gold_share, 0);
		assert.equal((await srv.admin.put('/api/config', { gold_share: 0.25, too_fast_seconds: 2 })).status, 200);
		assert.equal((await srv.admin.put('/api/config', { gold_share: 0, too_fast_seconds: 2.5 })).status, 200);
		// a second rater gets only ordinary groups while there are some
		const bob = await createRater(srv, 'bob');
		for (let i = 0; i < PLAIN; i++) {
			const t = await bob.client.get('/api/tasks/next');
			assert.equal(t.status, 200, t.text);
			assert.ok(!gold.has(t.json.task.group_id), `task ${i} of bob is gold with gold_share 0`);
			await bob.client.post(`/api/tasks/${t.json.task.group_id}/skip`, {});
		}
		// only gold left: bob gets every gold group (oldest first), then 204
		const got = [];
		for (;;) {
			const t = await bob.client.get('/api/tasks/next');
			if (t.status === 204) break;
			assert.equal(t.status, 200, t.text);
			got.push(t.json.task.group_id);
			await bob.client.post(`/api/tasks/${t.json.task.group_id}/skip`, {});
		}
		assert.deepEqual(got, [...gold].sort((x, y) => x - y));
		assert.equal(await remaining(bob), 0);
	} finally { await srv.stop(); }
});

/*
 * Agreement with gold, computed here.  Gold groups (gold scores):
 *   G1: 5 3 1     G2: 4 4 2     G3: 2 5 1
 * ann rates   G1: 5 2 2   G2: 3 4 2   G3: 1 5 3
 * bob rates   G1: 1 3 5   G2: 4 4 4   (not G3)
 * and both rate the ordinary group G4 (ann 4 2, bob 2 2).
 */
test('per-rater figures: agreement with gold and with the other raters, as computed here', async () => {
	const srv = await startServer();
	try {
		const goldScores = [[5, 3, 1], [4, 4, 2], [2, 5, 1]];
		const groups = [];
		for (let i = 0; i < 3; i++) {
			const g = await importGroup(srv, `gold question ${i}`, ['x', 'y', 'z'].map((s) => `${s}${i}`));
			const r = await srv.admin.put(`/api/groups/${g.groupId}/gold`,
				{ scores: g.responseIds.map((id, k) => ({ response_id: id, score: goldScores[i][k] })) });
			assert.equal(r.status, 200, r.text);
			groups.push(g);
		}
		const plain = await importGroup(srv, 'ordinary question', ['p', 'q']);
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob'), cy = await createRater(srv, 'cy');
		const annScores = [[5, 2, 2], [3, 4, 2], [1, 5, 3]], bobScores = [[1, 3, 5], [4, 4, 4]];
		for (let i = 0; i < 3; i++) await rate(ann, groups[i].groupId, groups[i].responseIds, annScores[i]);
		for (let i = 0; i < 2; i++) await rate(bob, groups[i].groupId, groups[i].responseIds, bobScores[i]);
		await rate(ann, plain.groupId, plain.responseIds, [4, 2]);
		await rate(bob, plain.groupId, plain.responseIds, [2, 2]);

		/* the expected figures from the scores above, by the definitions in the README */
		function goldFigures(scores) {
			let n = 0, abs = 0, within = 0, pairs = 0, agree = 0;
			scores.forEach((s, gi) => {
				const g = goldScores[gi];
				for (let k = 0; k < s.length; k++) { n++; abs += Math.abs(s[k] - g[k]); within += Math.abs(s[k] - g[k]) <= 1 ? 1 : 0; }
				for (let i = 0; i < s.length; i++)
					for (let j = i + 1; j < s.length; j++) {
						if (g[i] === g[j]) continue;
						pairs++;
						if (s[i] === s[j]) agree += 0.5;
						else if ((s[i] > s[j]) === (g[i] > g[j])) agree += 1;
					}
			});
			return { n, mae: abs / n, within: within / n, pairs, order: agree / pairs };
		}
		const annG = goldFigures(annScores), bobG = goldFigures(bobScores);
		// by hand for ann: |diffs| 0 1 1 / 1 0 0 / 1 0 2 → mae 6/9, within 8/9;
		// pairs with different gold: G1 3 (ann: agree, agree, tie) G2 2 (agree, agree) G3 3 (agree, agree, disagree) → 6.5/8
		assert.deepEqual([annG.n, annG.pairs], [9, 8]);
		close(annG.mae, 6 / 9, 'hand check mae');
		close(annG.order, 6.5 / 8, 'hand check order');

		const { r: a } = await perRater(srv, ann.id);
		const { r: b } = await perRater(srv, bob.id);
		const { r: c, stats } = await perRater(srv, cy.id);
		for (const [got, want, who] of [[a, annG, 'ann'], [b, bobG, 'bob']]) {
			assert.equal(got.gold_answers, want.n, `${who} gold answers`);
			close(got.gold_mae, want.mae, `${who} gold mae`);
			close(got.gold_within_1, want.within, `${who} within 1`);
			assert.equal(got.gold_pairs, want.pairs, `${who} gold pairs`);
			close(got.gold_order_agreement, want.order, `${who} order agreement`);
		}
		// consensus: answers both rated (G1, G2, G4); the other's mean is the other's score
		const both = [[annScores[0], bobScores[0]], [annScores[1], bobScores[1]], [[4, 2], [2, 2]]];
		let diff = 0, m = 0;
		for (const [x, y] of both) for (let k = 0; k < x.length; k++) { diff += Math.abs(x[k] - y[k]); m++; }
		for (const [got, who] of [[a, 'ann'], [b, 'bob']]) {
			assert.equal(got.consensus_answers, m, `${who} consensus answers`);
			close(got.consensus_mae, diff / m, `${who} consensus mae`);
		}
		// cy may still get the 3 gold groups (ratings_per_group does not limit them), not the ordinary one
		assert.equal((await cy.client.get('/api/me')).json.remaining, 3);
		// cy rated nothing: counts 0, figures null; nobody rated through a lease: no times
		assert.equal(c.gold_answers, 0);
		assert.equal(c.gold_mae, null);
		assert.equal(c.consensus_mae, null);
		for (const x of [a, b, c]) { assert.equal(x.timed_tasks, 0); assert.equal(x.median_seconds, null); assert.equal(x.too_fast, false); }
		assert.equal(stats.quality.gold_groups, 3);
		close(stats.quality.gold_share, 0.1, 'default gold_share');
		close(stats.quality.too_fast_seconds, 3, 'default too_fast_seconds');

		// a re-rating replaces the old one in the figures: ann's G3 becomes the gold scores
		await rate(ann, groups[2].groupId, groups[2].responseIds, goldScores[2]);
		const ann2 = goldFigures([annScores[0], annScores[1], goldScores[2]]);
		const { r: a2 } = await perRater(srv, ann.id);
		close(a2.gold_mae, ann2.mae, 'ann gold mae after re-rating');
		close(a2.gold_order_agreement, ann2.order, 'ann order agreement after re-rating');
	} finally { await srv.stop(); }
});

/*
 * Seconds per task: from the lease (GET /api/tasks/next) to the first rating,
 * in whole seconds as the server stores times.  For each task the test knows
 * when it asked and when it was answered, so the stored difference lies in
 * [floor(rate sent) - floor(lease answered), floor(rate answered) - floor(lease sent)];
 * the median lies between the medians of those bounds.
 */
test('per-rater figures: median seconds per task and the too-fast flag', async () => {
	const srv = await startServer();
	try {
		const items = [];
		for (let i = 0; i < 12; i++) items.push({ prompt: `timed ${i}`, responses: [`a${i}`, `b${i}`] });
		await importGroupsNdjson(srv, items);
		assert.equal((await srv.admin.put('/api/config', { too_fast_seconds: 1.5, gold_share: 0 })).status, 200);
		const sec = (ms) => Math.floor(ms / 1000);
		const median = (xs) => { const s = [...xs].sort((x, y) => x - y), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
		async function work(rater, tasks, waitMs) {
			const lo = [], hi = [];
			for (let i = 0; i < tasks; i++) {
				const t0 = Date.now();
				const t = await rater.client.get('/api/tasks/next');
				const t1 = Date.now();
				assert.equal(t.status, 200, t.text);
				if (waitMs) await sleep(waitMs);
				const t2 = Date.now();
				const task = t.json.task;
				await rate(rater, task.group_id, task.responses.map((r) => r.id), task.responses.map(() => 3));
				const t3 = Date.now();
				lo.push(sec(t2) - sec(t1));
				hi.push(sec(t3) - sec(t0));
			}
			return { lo: median(lo), hi: median(hi) };
		}
		const fast = await createRater(srv, 'fast'), slow = await createRater(srv, 'slow'), few = await createRater(srv, 'few');
		const f = await work(fast, 5, 0);
		const s = await work(slow, 3, 2100);
		const w = await work(few, 2, 0);
		const { r: fr, stats } = await perRater(srv, fast.id);
		const { r: sr } = await perRater(srv, slow.id);
		const { r: wr } = await perRater(srv, few.id);
		close(stats.quality.too_fast_seconds, 1.5, 'too_fast_seconds as set');
		for (const [got, want, n, who] of [[fr, f, 5, 'fast'], [sr, s, 3, 'slow'], [wr, w, 2, 'few']]) {
			assert.equal(got.timed_tasks, n, `${who} timed tasks`);
			assert.ok(got.median_seconds >= want.lo && got.median_seconds <= want.hi,
				`${who} median ${got.median_seconds} within [${want.lo}, ${want.hi}]`);
			// the flag is the median below the threshold, with at least 3 timed tasks
			assert.equal(got.too_fast, n >= 3 && got.median_seconds < 1.5, `${who} too_fast`);
		}
		assert.ok(s.lo >= 2, `the slow rater took at least 2 s a task (${s.lo})`);
		assert.equal(sr.too_fast, false, 'slow is not too fast');
		if (f.hi < 1.5) assert.equal(fr.too_fast, true, 'fast is too fast');
		assert.equal(wr.too_fast, false, 'two tasks are too few to flag');
		// a ranking task is timed too
		assert.equal((await srv.admin.put('/api/config', { task_kind: 'rank' })).status, 200);
		const ranker = await createRater(srv, 'ranker');
		const rt = await ranker.client.get('/api/tasks/next');
		assert.equal(rt.status, 200, rt.text);
		assert.equal(rt.json.task.task_kind, 'rank');
		const rk = await ranker.client.post('/api/ratings', { group_id: rt.json.task.group_id, ranking: rt.json.task.responses.map((r) => r.id) });
		assert.equal(rk.status, 201, rk.text);
		const { r: kr } = await perRater(srv, ranker.id);
		assert.equal(kr.timed_tasks, 1, 'the ranking has a time');
		assert.equal((await srv.admin.put('/api/config', { task_kind: 'score' })).status, 200);
		// re-rating a group does not add a time; rating by id without a lease adds none
		const g = await importGroup(srv, 'no lease', ['u', 'v']);
		await rate(fast, g.groupId, g.responseIds, [1, 2]);
		assert.equal((await perRater(srv, fast.id)).r.timed_tasks, 5);
	} finally { await srv.stop(); }
});

test('review: flagged and commented answers with filters by rater, split, tag, flag and date, paged', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const p1 = await srv.admin.post('/api/prompts', { prompts: [
			{ text: 'Capital of Peru?', split: 'train', meta: { family: 'capital' } },
			{ text: 'Break into Fort Knox?', split: 'eval', meta: { tag: 'harmful' } },
			{ text: 'A poem about rain', split: 'train', meta: { tags: ['poem', 'creative'] } },
		] });
		assert.equal(p1.status, 201, p1.text);
		const groups = [];
		for (const pid of p1.json.ids) {
			const r = await srv.admin.post(`/api/prompts/${pid}/responses`, { responses: [{ text: `first ${pid}` }, { text: `second ${pid}` }] });
			assert.equal(r.status, 201, r.text);
			groups.push({ promptId: pid, groupId: r.json.group_id, ids: r.json.ids });
		}
		const [peru, knox, poem] = groups;
		const t0 = Math.floor(Date.now() / 1000);
		// what the test submits: [rater, group, answer index, score, flags, comment]
		const subs = [
			[ann, peru, 0, 5, [], ''],
			[ann, peru, 1, 1, ['dishonest'], 'Cusco is not the capital'],
			[ann, knox, 0, 1, ['unsafe'], ''],
			[ann, knox, 1, 5, [], 'a polite refusal'],
			[bob, poem, 0, 3, [], '   '],
			[bob, poem, 1, 2, ['unsafe', 'dishonest'], 'rhymes badly'],
			[bob, knox, 0, 1, ['unsafe'], undefined],
			[bob, knox, 1, 4, [], undefined],
		];
		for (const rater of [ann, bob])
			for (const g of groups) {
				const mine = subs.filter((s) => s[0] === rater && s[1] === g);
				if (!mine.length) continue;
				const res = await rater.client.post('/api/ratings', { group_id: g.groupId, ratings: mine.map((s) => ({
					response_id: g.ids[s[2]], score: s[3], flags: s[4], ...(s[5] !== undefined ? { comment: s[5] } : {}) })) });
				assert.equal(res.status, 201, res.text);
			}
		const t1 = Math.floor(Date.now() / 1000);
		const meta = new Map([[peru, { split: 'train', tags: ['capital'] }], [knox, { split: 'eval', tags: ['harmful'] }], [poem, { split: 'train', tags: ['poem', 'creative'] }]]);
		/* the rows the review shows: a flag or a non-blank comment */
		const shown = subs.filter((s) => s[4].length || (s[5] || '').trim());
		const key = (x) => `${x.rater_id}/${x.response_id}`;
		const wantKeys = (pred) => shown.filter(pred).map((s) => `${s[0].id}/${s[1].ids[s[2]]}`).sort();
		async function review(q) {
			const r = await srv.admin.get(`/api/review${q ? '?' + q : ''}`);
			assert.equal(r.status, 200, `${q}: ${r.text}`);
			return r.json;
		}
		const all = await review('');
		assert.deepEqual(all.items.map(key).sort(), wantKeys(() => true));
		assert.equal(all.items.length, 5);
		assert.deepEqual(all.flag_kinds, ['dishonest', 'unsafe']);
		assert.equal(all.next_before, null);
		for (let i = 1; i < all.items.length; i++) assert.ok(all.items[i - 1].rating_id > all.items[i].rating_id, 'newest first');
		for (const it of all.items) {
			const s = shown.find((x) => `${x[0].id}/${x[1].ids[x[2]]}` === key(it));
			assert.equal(it.rater, s[0].name);
			assert.equal(it.prompt_id, s[1].promptId);
			assert.equal(it.group_id, s[1].groupId);
			assert.equal(it.score, s[3]);
			assert.deepEqual(it.flags, s[4]);
			assert.equal(it.comment ?? '', s[5] ?? '');
			assert.equal(it.response, `${s[2] ? 'second' : 'first'} ${s[1].promptId}`);
			assert.equal(it.split, meta.get(s[1]).split);
		}
		const filters = [
			[`rater=${ann.id}`, (s) => s[0] === ann],
			[`rater=${bob.id}`, (s) => s[0] === bob],
			['split=eval', (s) => meta.get(s[1]).split === 'eval'],
			['split=train', (s) => meta.get(s[1]).split === 'train'],
			['tag=harmful', (s) => meta.get(s[1]).tags.includes('harmful')],
			['tag=capital', (s) => meta.get(s[1]).tags.includes('capital')],
			['tag=creative', (s) => meta.get(s[1]).tags.includes('creative')],
			['tag=nothing', () => false],
			['flag=unsafe', (s) => s[4].includes('unsafe')],
			['flag=dishonest', (s) => s[4].includes('dishonest')],
			[`flag=unsafe&rater=${bob.id}&split=train`, (s) => s[4].includes('unsafe') && s[0] === bob && meta.get(s[1]).split === 'train'],
			[`since=${t0}&until=${t1 + 1}`, () => true],
			[`since=${t1 + 1}`, () => false],
			[`until=${t0}`, () => false],
			[`since=${new Date(t0 * 1000).toISOString().slice(0, 10)}`, () => true],
		];
		for (const [q, pred] of filters)
			assert.deepEqual((await review(q)).items.map(key).sort(), wantKeys(pred), q);
		// paging: two at a time, newest first, the whole list once
		const pages = [];
		let before = null;
		for (let i = 0; i < 10; i++) {
			const page = await review(`limit=2${before ? `&before=${before}` : ''}`);
			pages.push(...page.items);
			if (page.next_before === null) break;
			assert.equal(page.items.length, 2);
			assert.equal(page.next_before, page.items[1].rating_id);
			before = page.next_before;
		}
		assert.deepEqual(pages.map(key), all.items.map(key));
		// a re-rating without the flag or comment leaves the list
		const res = await ann.client.post('/api/ratings', { group_id: peru.groupId, ratings: [{ response_id: peru.ids[1], score: 2 }] });
		assert.equal(res.status, 201, res.text);
		assert.deepEqual((await review('')).items.map(key).sort(), wantKeys((s) => !(s[0] === ann && s[1] === peru)));
		assert.deepEqual((await review('')).flag_kinds, ['dishonest', 'unsafe']);

		for (const q of ['rater=abc', 'rater=0', 'split=dev', 'since=yesterday', 'until=2024-13-45', 'limit=0', 'limit=5000', 'before=-1', `tag=${'x'.repeat(300)}`]) {
			const r = await srv.admin.get(`/api/review?${q}`);
			assertError(r, 400, q);
			assert.ok(r.json.error.message.includes(`'${q.split('=')[0]}'`), `${q}: ${r.json.error.message}`);
		}
		assertError(await ann.client.get('/api/review'), 403, 'a rater');
	} finally { await srv.stop(); }
});
