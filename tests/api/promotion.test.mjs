/*
 * tests/api/promotion.test.mjs — what keeps RLHF from hurting the active model,
 * through the HTTP API on a tiny model (tests/lib/tiny_model.mjs):
 *  - the promotion gate: an RL job's result becomes active only when it passes
 *    the gate (server/worker/promote.h), else it is kept as a candidate with
 *    its reasons; promote "never" and "always"; activating by hand always works;
 *  - the rollback on people's verdict: when raters score the active policy's
 *    answers below its parent's on the same prompts, those neither was
 *    trained on (a sign test), the loop activates the parent again and the
 *    policy's metrics say why.
 * The gate's own decisions on constructed cases are unit-tested
 * (tests/unit/test_promote.c); here the wiring is.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll, sleep, listModels as models } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ seq: 128 }); });
after(() => tiny?.cleanup());

const activeId = async (srv) => (await models(srv)).find((m) => m.active).id;
const RL = { iterations: 1, prompts_per_iter: 2, k: 2, max_new: 6, require_reward_acc: 0 };

test('promotion: gate, never and always; a candidate keeps its parent active and can be activated by hand', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8 }));
		await rateAll(await createRater(srv, 'ann'));
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1, heldout_frac: 0.4 }));
		const held = rj.metrics.heldout_prompt_ids.length;
		assert.ok(held >= 4, `held-out prompts: ${held}`);

		const never = await jobSucceeded(srv, await submitJob(srv, 'rloo', { ...RL, promote: 'never' }));
		assert.deepEqual(never.metrics.promotion, { decision: 'candidate', mode: 'never' });
		assert.equal(never.metrics.activated, false);
		assert.equal(await activeId(srv), 1, 'the parent stays active');

		const gate = await jobSucceeded(srv, await submitJob(srv, 'rloo', RL));
		const p = gate.metrics.promotion;
		assert.equal(p.mode, 'gate');
		assert.equal(p.prompts, held, 'judged on the reward model\'s held-out prompts');
		assert.equal(p.answers, held * 4);
		assert.ok(p.win_lo <= p.win_rate && p.win_rate <= p.win_hi, JSON.stringify(p));
		assert.ok(Array.isArray(p.reasons));
		/* sound: nothing held it back but the reward model's judgement (the
		 * evidence or the win rate), which people's verdict may overrule */
		assert.equal(p.sound, p.reasons.every((r) => /^(the reward model does not prefer it|\d+ held-out prompts are too few)/.test(r)),
			JSON.stringify(p));
		if (p.decision === 'promoted') {
			assert.equal(p.reasons.length, 0);
			assert.ok(p.win_lo > 0.5);
			assert.equal(await activeId(srv), gate.model_id);
		} else {
			assert.equal(p.decision, 'candidate');
			assert.ok(p.reasons.length >= 1, 'a candidate says why');
			for (const r of p.reasons) assert.match(r, /^[a-z0-9]/);
			assert.equal(await activeId(srv), 1);
		}
		const ver = (await models(srv)).find((m) => m.id === gate.model_id);
		assert.deepEqual(ver.metrics.promotion, p, 'the decision is kept with the version');

		// by hand: a candidate can always be activated
		const r = await srv.admin.post(`/api/models/${never.model_id}/activate`, {});
		assert.equal(r.status, 200, r.text);
		assert.equal(await activeId(srv), never.model_id);

		const always = await jobSucceeded(srv, await submitJob(srv, 'rloo', { ...RL, promote: 'always' }));
		assert.equal(always.metrics.promotion.decision, 'promoted');
		assert.equal(await activeId(srv), always.model_id);

		// bad values are refused
		const bad = await srv.admin.post('/api/train', { kind: 'rloo', params: { promote: 'sometimes' } });
		assert.equal(bad.status, 400, bad.text);
		const badCfg = await srv.admin.put('/api/config', { auto_train: { promote: 'maybe' } });
		assert.equal(badCfg.status, 400, badCfg.text);
	} finally {
		await w.stop();
	}
});

test('auto-training: a reward model no better than chance ends the round — no RL, the loop waits, the job says why', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: w.trainIds.slice(0, 8), k: 3, max_tokens: 8 }));
		const cfg = await srv.admin.put('/api/config', { auto_train: {
			enabled: true, reward_every_n_ratings: 9, rl_kind: 'rloo', reward_params: { epochs: 1 },
			rl_params: { iterations: 1, prompts_per_iter: 2, k: 2, max_new: 6 },
		} });
		assert.equal(cfg.status, 200, cfg.text);
		await rateAll(await createRater(srv, 'ann'));
		let rw;
		for (const deadline = Date.now() + 60000; Date.now() < deadline; await sleep(200)) {
			const jobs = (await srv.admin.get('/api/jobs')).json.jobs;
			rw = jobs.find((j) => j.kind === 'reward' && j.params.auto && j.status === 'succeeded');
			if (rw) break;
		}
		assert.ok(rw, 'the loop ran a reward job');
		const full = (await srv.admin.get(`/api/jobs/${rw.id}`)).json;
		assert.ok(full.metrics.heldout_lo <= 0.55, `a dozen nonsense ratings: lower bound ${full.metrics.heldout_lo}`);
		assert.equal(full.metrics.auto_next.decision, 'waiting for more ratings');
		assert.match(full.metrics.auto_next.reason, /^it is not credibly better than chance on held-out prompts: pairwise accuracy/);
		/* every answer was rated, so the waiting loop asks the active model for more */
		const gen = await jobSucceeded(srv, full.metrics.auto_next.generate);
		assert.equal(gen.kind, 'generate');
		assert.equal(gen.params.again, true);
		assert.equal(gen.metrics.model_id, 1, 'the answers come from the active model');
		assert.ok(gen.metrics.groups > 0, 'new groups to rate');
		assert.equal(full.metrics.auto_next.answers_waiting, 0);
		await sleep(2500);
		const jobs = (await srv.admin.get('/api/jobs')).json.jobs;
		assert.deepEqual(jobs.filter((j) => j.params.auto).map((j) => j.kind), ['generate', 'reward'],
			'no RL queued: the reward job, then answers for raters');
		assert.equal(await activeId(srv), 1);
	} finally {
		await w.stop();
	}
});

test('rollback: raters score the active policy below its parent on the prompts neither was trained on, and the parent is active again', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		/* the reward model and the policy learn from 7 prompts; the verdict
		 * judges 9 others (the tiny prompt set has 16) */
		const taught = w.trainIds.slice(0, 7), ids = w.trainIds.slice(7, 16);
		// no spot checks: the reward-hacking watch (tests/api/hacking.test.mjs) would judge the
		// same ratings on the spot-checked prompts, with 5 prompts, and could act first
		const off = await srv.admin.put('/api/config', { spot_check_n: 0 });
		assert.equal(off.status, 200, off.text);
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: taught, k: 3, max_tokens: 8 }));
		const ann = await createRater(srv, 'ann');
		await rateAll(ann);   // answers rated 1, 5, 3 by position (mean 3)
		const rw = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		const rmTrain = taught.filter((id) => !rw.metrics.heldout_prompt_ids.includes(id));
		assert.ok(rmTrain.length >= 4, `the reward model's training prompts: ${rmTrain}`);
		const pj = await jobSucceeded(srv, await submitJob(srv, 'rloo', { ...RL, promote: 'always' }));
		const child = pj.model_id;
		assert.equal(await activeId(srv), child);
		// the parent's answers to the 9 prompts, rated as above
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: ids, k: 3, max_tokens: 8, model_id: 1 }));
		await rateAll(ann);
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: [...rmTrain, ...ids], k: 2, max_tokens: 8, model_id: child }));
		// the loop on (every round far away: only the verdict can act)
		const cfg = await srv.admin.put('/api/config', { auto_train: { enabled: true, reward_every_n_ratings: 1000000 } });
		assert.equal(cfg.status, 200, cfg.text);
		const groupsOf = async (pids) => {
			const out = [];
			for (const pid of pids) {
				const p = await promptDetail(srv, pid);
				const mine = p.responses.filter((r) => r.model_id === child);
				out.push({ group_id: mine[0].group_id, ids: mine.map((r) => r.id) });
			}
			return out;
		};
		const rate = async (g, score) => {
			const r = await ann.client.post('/api/ratings', { group_id: g.group_id,
				ratings: g.ids.map((id) => ({ response_id: id, score })) });
			assert.equal(r.status, 201, r.text);
		};
		// rated 1 where the policy was trained (its reward model's prompts),
		// against the parent's 3: no part of the verdict
		for (const g of await groupsOf(rmTrain)) await rate(g, 1);
		// the child's answers rated 2 on 7 unseen prompts: 7 worse of 7 is under the 8 a verdict needs
		const childGroups = await groupsOf(ids);
		for (const g of childGroups.slice(0, 7)) await rate(g, 2);
		await sleep(4500);   // two looks of the worker (every 2 s)
		assert.equal(await activeId(srv), child, '7 unseen prompts are too few for a verdict, however the trained ones went');
		// the 8th: 8 worse of 8, p = 1/256
		await rate(childGroups[7], 2);
		const deadline = Date.now() + 15000;
		while (await activeId(srv) !== 1 && Date.now() < deadline) await sleep(200);
		assert.equal(await activeId(srv), 1, 'the parent is active again');
		const m = (await models(srv)).find((x) => x.id === child);
		assert.deepEqual(m.metrics.rollback, { to: 1, worse: 8, better: 0, ties: 0, p: 1 / 256 });
		// rolled back once: not judged again, however it is rated
		const r = await srv.admin.post(`/api/models/${child}/activate`, {});
		assert.equal(r.status, 200);
		await rate(childGroups[8], 1);
		await sleep(4500);
		assert.equal(await activeId(srv), child, 'activated by hand, it stays');
	} finally {
		await w.stop();
	}
});
