/*
 * tests/api/autotrain_crash.test.mjs — the loop after a crash: kill -9 while
 * an auto-training job runs (the reward model, the RL job, the generate job of
 * a round); after the restart the interrupted job is failed "interrupted",
 * the same step is queued again with the same params, and the loop carries on
 * to its end (reward → rloo → generate) without waiting for new ratings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, sleep } from '../lib/server.mjs';
import { createRater } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll, FINISHED } from '../lib/tiny_model.mjs';

let tiny;
// many train prompts, so the round's generate job (all of them) lasts long enough to be caught running
before(() => { tiny = makeTinyModel({ trainPrompts: 300 }); });
after(() => tiny?.cleanup());

const LOOP = ['reward', 'rloo', 'generate'];

/* Kills the server while the round's `victim` job runs; checks the restart. */
async function crashDuring(victim) {
	const w = await serverWithModel(tiny);
	let srv2 = null;
	try {
		const { srv } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: w.trainIds.slice(0, 6), k: 3, max_tokens: 8 }));
		// each step long enough to be caught running (the tiny model is fast)
		const cfg = await srv.admin.put('/api/config', { auto_train: {
			enabled: true, reward_every_n_ratings: 9, rl_kind: 'rloo', generate_k: 2, generate_prompts: 0,
			reward_params: { epochs: 30 }, promote: 'always',
			rl_params: { iterations: 12, prompts_per_iter: 4, k: 2, max_new: 8, require_reward_acc: 0 },
		} });
		assert.equal(cfg.status, 200, cfg.text);
		await rateAll(await createRater(srv, 'ann'));
		let running;
		const deadline = Date.now() + 120000;
		for (;;) {
			const jobs = (await srv.admin.get('/api/jobs')).json.jobs;
			running = jobs.find((j) => j.params.auto && j.kind === victim && j.status === 'running');
			if (running) break;
			assert.ok(!jobs.some((j) => j.params.auto && j.kind === victim && FINISHED.includes(j.status)),
				`the ${victim} job finished before it could be interrupted: ${JSON.stringify(jobs.map((j) => [j.kind, j.status]))}`);
			assert.ok(Date.now() < deadline, 'no auto job ran');
			await sleep(5);
		}
		await srv.kill9();
		srv2 = await startServer({ dataDir: w.dataDir, adminToken: srv.adminToken });
		const dead = (await srv2.admin.get(`/api/jobs/${running.id}`)).json;
		assert.equal(dead.status, 'failed');
		assert.match(dead.error, /^interrupted/);
		// the loop carries on from the interrupted step, with no new rating
		const end = Date.now() + 180000;
		let auto;
		for (;;) {
			const jobs = (await srv2.admin.get('/api/jobs')).json.jobs;
			auto = jobs.filter((j) => j.params.auto).reverse();
			const gen = auto.filter((j) => j.kind === 'generate' && j.status === 'succeeded');
			if (gen.length) break;
			assert.ok(!auto.some((j) => j.status === 'failed' && j.id !== running.id), `an auto job failed: ${JSON.stringify(auto)}`);
			assert.ok(Date.now() < end, `the loop did not carry on: ${JSON.stringify(auto.map((j) => [j.id, j.kind, j.status]))}`);
			await sleep(50);
		}
		const again = auto.filter((j) => j.kind === victim);
		assert.equal(again.length, 2, `the ${victim} step ran twice (interrupted, then again)`);
		assert.deepEqual(again[1].params, again[0].params, 'with the same params');
		assert.ok(again[1].id > running.id);
		const steps = auto.filter((j) => j.status === 'succeeded').map((j) => j.kind);
		assert.deepEqual(steps, LOOP, 'the round completes once');
		const version = (await srv2.admin.get('/api/models')).json.models;
		assert.ok(version.some((m) => m.kind === 'policy' && m.active), 'the round\'s policy is active');
	} finally {
		await w.srv.stop({ keepData: true });
		if (srv2) await srv2.stop();
		rmSync(w.dataDir, { recursive: true, force: true });
	}
}

for (const victim of LOOP)
	test(`kill -9 during the loop's ${victim} job: after the restart the same step runs again and the round ends`, () => crashDuring(victim));
