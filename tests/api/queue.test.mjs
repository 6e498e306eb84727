/*
 * tests/api/queue.test.mjs — the uncertainty-first queue (config queue_order,
 * queue_random_share; db/tasks.c), through the HTTP API on a tiny model
 * (tests/lib/tiny_model.mjs).  A real reward job and the score job it queues
 * give every answer an rm_score; the test reads the scores back from the
 * prompt pages and works out each group's gap itself (the smallest distance
 * between two of its answers' scores), then checks what /api/tasks/next hands
 * out: "auto" is fifo before any score and uncertain after; "uncertain" gives
 * the smallest gaps first and the unscored groups last by id; "fifo" keeps the
 * old order (closest to done, then by id); the random share is kept within a
 * binomial tolerance computed from the pick-key formula of migrations/0010_queue_order.sql;
 * bad values are refused and change nothing.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail, assertError } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 24, evalPrompts: 0 }); });
after(() => tiny?.cleanup());

async function setConfig(srv, body) {
	const r = await srv.admin.put('/api/config', body);
	assert.equal(r.status, 200, r.text);
	return r.json;
}

/* Every group of the prompts: { id, n (answers), gap (null when fewer than two scored) }. */
async function groups(srv, promptIds) {
	const byGroup = new Map();
	for (const pid of promptIds) {
		for (const a of (await promptDetail(srv, pid)).responses) {
			if (!byGroup.has(a.group_id)) byGroup.set(a.group_id, []);
			byGroup.get(a.group_id).push(a);
		}
	}
	return [...byGroup].map(([id, answers]) => {
		const s = answers.map((a) => a.rm_score).filter((x) => x !== null).sort((a, b) => a - b);
		let gap = null;
		for (let i = 1; i < s.length; i++) if (gap === null || s[i] - s[i - 1] < gap) gap = s[i] - s[i - 1];
		return { id, n: answers.length, gap };
	}).sort((a, b) => a.id - b.id);
}

/* The group ids a rater is handed in turn, skipping each (a skip leaves the group open for the others). */
async function takeAll(rater, max = 200) {
	const seen = [];
	for (let i = 0; i < max; i++) {
		const r = await rater.client.get('/api/tasks/next');
		if (r.status === 204) return seen;
		assert.equal(r.status, 200, r.text);
		seen.push(r.json.task.group_id);
		const s = await rater.client.post(`/api/tasks/${r.json.task.group_id}/skip`, {});
		assert.equal(s.status, 200, s.text);
	}
	assert.fail('the queue did not end');
}

/* Scored groups by gap (ties by id), then the unscored ones by id. */
const uncertainOrder = (gs) => [
	...gs.filter((g) => g.gap !== null).sort((a, b) => a.gap - b.gap || a.id - b.id),
	...gs.filter((g) => g.gap === null).sort((a, b) => a.id - b.id),
].map((g) => g.id);

const pickKey = (id) => Number((BigInt(id) * 2654435761n) % 4294967296n);

test('uncertain hands out the groups the reward model is least sure of first; fifo keeps the old order; the random share holds', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds } = w;
		let cfg = (await srv.admin.get('/api/config')).json;
		assert.equal(cfg.queue_order, 'auto');
		assert.equal(cfg.queue_random_share, 0.2);

		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 4, max_tokens: 8, temperature: 1.5 }));
		const all0 = await groups(srv, trainIds);
		assert.ok(all0.length >= 15, `${all0.length} groups`);   // a prompt too long for the tiny model gets none

		// before any score, "auto" is fifo (no random share): the oldest group first
		const seed = await createRater(srv, 'seed');
		const rated = [];
		for (let i = 0; i < 10; i++) {
			const r = await seed.client.get('/api/tasks/next');
			assert.equal(r.status, 200, r.text);
			const t = r.json.task;
			rated.push(t.group_id);
			const ratings = t.responses.map((x, j) => ({ response_id: x.id, score: [1, 5, 3, 2, 4][(i + j) % 5] }));
			assert.equal((await seed.client.post('/api/ratings', { group_id: t.group_id, ratings })).status, 201);
		}
		assert.deepEqual(rated, all0.slice(0, 10).map((g) => g.id), 'fifo before any reward-model score');

		// a reward job and its score job score every answer
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);
		// two answers more for one prompt, never scored: a group with no gap
		const imp = await srv.admin.post(`/api/prompts/${trainIds[0]}/responses`,
			{ responses: [{ text: 'An answer written later.' }, { text: 'Another one.' }] });
		assert.equal(imp.status, 201, imp.text);
		const gs = await groups(srv, trainIds);
		const scored = gs.filter((g) => g.gap !== null);
		assert.equal(scored.length, all0.length, JSON.stringify(gs));
		assert.equal(gs.find((g) => g.id === imp.json.group_id).gap, null);
		assert.ok(new Set(scored.map((g) => g.gap)).size > 5, `gaps differ: ${JSON.stringify(scored)}`);
		const open = gs.filter((g) => !rated.includes(g.id));
		const expected = uncertainOrder(open);
		const fifo = open.map((g) => g.id);
		assert.notDeepEqual(expected, fifo, 'the two orders differ on these scores');

		// "auto" with scores is uncertain: share 0 makes it deterministic
		await setConfig(srv, { queue_random_share: 0 });
		assert.deepEqual(await takeAll(await createRater(srv, 'auto')), expected);
		cfg = await setConfig(srv, { queue_order: 'uncertain' });
		assert.equal(cfg.queue_order, 'uncertain');
		assert.deepEqual(await takeAll(await createRater(srv, 'unc')), expected);
		await setConfig(srv, { queue_order: 'fifo', queue_random_share: 1 });
		assert.deepEqual(await takeAll(await createRater(srv, 'fifo')), fifo, 'fifo ignores the random share');

		// closest to done first still holds: with 1000 raters per group the ten
		// groups "seed" rated (one rater each) go before the unrated ones
		await setConfig(srv, { queue_order: 'uncertain', queue_random_share: 0, ratings_per_group: 1000 });
		const level1 = gs.filter((g) => rated.includes(g.id));
		const both = await takeAll(await createRater(srv, 'both'));
		assert.deepEqual(both, [...uncertainOrder(level1), ...expected]);

		// the random share: each new rater asks once; the deterministic pick is
		// the rated group with the smallest gap, a random one the group whose
		// pick key follows a uniform point on 0..2^32 (wrapping around), which
		// is that same group with probability arc / 2^32
		const share = 0.5, N = 300;
		cfg = await setConfig(srv, { queue_random_share: share });
		assert.equal(cfg.queue_random_share, 0.5);
		const best = uncertainOrder(level1)[0];
		const keys = level1.map((g) => ({ id: g.id, key: pickKey(g.id) })).sort((a, b) => a.key - b.key);
		const arc = new Map(keys.map((k, i) => [k.id, i === 0 ? k.key + 2 ** 32 - keys[keys.length - 1].key
			: k.key - keys[i - 1].key]));
		const p = share * (1 - arc.get(best) / 2 ** 32);   // P(a request gets another group)
		const counts = new Map(level1.map((g) => [g.id, 0]));
		let others = 0;
		for (let i = 0; i < N; i++) {
			const rater = await createRater(srv, `r${i}`);
			const r = await rater.client.get('/api/tasks/next');
			assert.equal(r.status, 200, r.text);
			const g = r.json.task.group_id;
			assert.ok(counts.has(g), `group ${g} is one of the groups closest to done`);
			counts.set(g, counts.get(g) + 1);
			if (g !== best) others++;
		}
		const mu = N * p, sd = Math.sqrt(N * p * (1 - p));
		assert.ok(Math.abs(others - mu) <= 4 * sd,
			`${others} of ${N} requests got a group other than the least sure one; expected ${mu.toFixed(1)} ± ${(4 * sd).toFixed(1)}`);
		// and the groups come as often as their arcs say: a chi-square test with
		// 9 degrees of freedom at 0.1 % (critical value 27.88)
		assert.equal(level1.length, 10);
		let chi2 = 0;
		for (const [id, c] of counts) {
			const e = N * share * arc.get(id) / 2 ** 32 + (id === best ? N * (1 - share) : 0);
			chi2 += (c - e) ** 2 / e;
		}
		assert.ok(chi2 < 27.88, `chi-square ${chi2.toFixed(1)} over ${JSON.stringify([...counts])}`);
	} finally {
		await w.stop();
	}
});

test('queue_order and queue_random_share refuse bad values and change nothing', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const before = (await srv.admin.get('/api/config')).json;
		for (const body of [{ queue_order: 'lifo' }, { queue_order: 3 }, { queue_order: '' }, { queue_order: null },
			{ queue_random_share: -0.1 }, { queue_random_share: 1.5 }, { queue_random_share: '0.3' },
			{ queue_random_share: 0.3, queue_order: 'random' }, { queue_order: 'fifo', queue_random_share: 2 }]) {
			const r = await srv.admin.put('/api/config', body);
			assertError(r, 400, JSON.stringify(body));
			assert.deepEqual((await srv.admin.get('/api/config')).json, before, JSON.stringify(body));
		}
		// the edges are fine, and a share given as an integer can become a fraction later
		assert.equal((await setConfig(srv, { queue_random_share: 1 })).queue_random_share, 1);
		assert.equal((await setConfig(srv, { queue_random_share: 0 })).queue_random_share, 0);
		assert.equal((await setConfig(srv, { queue_random_share: 0.25 })).queue_random_share, 0.25);
		for (const o of ['fifo', 'uncertain', 'auto']) assert.equal((await setConfig(srv, { queue_order: o })).queue_order, o);
		const rater = await createRater(srv, 'ann');
		assertError(await rater.client.put('/api/config', { queue_order: 'fifo' }), 403, 'a rater');
	} finally {
		await w.stop();
	}
});
