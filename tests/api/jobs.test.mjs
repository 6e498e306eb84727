/*
 * tests/api/jobs.test.mjs — the background worker through the HTTP API: a
 * job's life (queued → running → progress rising → succeeded with a model
 * version), generation (K answers per prompt as one group, handed out by
 * /api/tasks/next), cancelling queued and running jobs, a failure with its
 * reason, reward → PPO/RLOO/DPO → eval on real ratings, activate/rollback, a
 * kill -9 during a job (failed "interrupted" on restart, then retried), the
 * auto-training loop, parameter checks, and import-model / export-model.
 *
 * The model is tiny (tests/lib/tiny_model.mjs, a few seconds to make): a BPE
 * vocabulary and a 2-layer llama trained for a few steps on the demo world's
 * text, imported with `rlhfd import-model --activate` into each test's data
 * directory.  It writes nonsense, which is all these tests need: they check
 * the machinery, not the quality.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, sleep, randomToken } from '../lib/server.mjs';
import { createRater, assertError, promptDetail } from '../lib/fixtures.mjs';
import {
	makeTinyModel, serverWithModel as tinyServer, submitJob as submit, waitJob, jobSucceeded as succeeded,
	importDemos, rateAll, rlhfd, sftEpochsLasting, FINISHED, listModels as models,
} from '../lib/tiny_model.mjs';

let tiny, tok, base;

before(() => {
	tiny = makeTinyModel({ seq: 128 });
	({ tok, base } = tiny);
});

after(() => tiny?.cleanup());

const serverWithModel = () => tinyServer(tiny);
const waitDone = (srv, id, opts) => waitJob(srv, id, (j) => FINISHED.includes(j.status), opts);


test('generate: K answers per prompt from one call, one group each, handed out by /api/tasks/next', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		const picked = w.trainIds.slice(0, 3);
		const id = await submit(srv, 'generate', { prompt_ids: picked, k: 3, max_tokens: 12, temperature: 1, seed: 7 });
		const job = await succeeded(srv, id);
		assert.equal(job.kind, 'generate');
		assert.equal(job.progress, 1);
		assert.equal(job.metrics.groups, 3);
		assert.equal(job.metrics.responses, 9);
		assert.equal(job.metrics.model_id, 1);
		assert.equal(job.metrics.skipped, 0);
		const groupOf = {};
		for (const pid of picked) {
			const p = await promptDetail(srv, pid);
			assert.equal(p.responses.length, 3, 'K = 3 answers');
			const gids = new Set(p.responses.map((r) => r.group_id));
			assert.equal(gids.size, 1, 'one group per prompt');
			for (const r of p.responses) {
				assert.equal(r.model_id, 1, 'written by the active model');
				assert.equal(typeof r.text, 'string');
				assert.ok(r.token_count >= 0 && r.token_count <= 12, `token_count ${r.token_count} within max_tokens`);
			}
			groupOf[[...gids][0]] = p.responses.map((r) => r.id).sort((a, b) => a - b);
		}
		// the other train prompts got nothing
		assert.equal((await promptDetail(srv, w.trainIds[5])).responses.length, 0);
		// a rater is handed exactly these groups, with their answers
		const ann = await createRater(srv, 'ann');
		const seen = [];
		for (;;) {
			const r = await ann.client.get('/api/tasks/next');
			if (r.status === 204) break;
			assert.equal(r.status, 200, r.text);
			const t = r.json.task;
			assert.deepEqual(t.responses.map((x) => x.id).sort((a, b) => a - b), groupOf[t.group_id]);
			seen.push(t.group_id);
			await ann.client.post(`/api/tasks/${t.group_id}/skip`, {});
		}
		assert.deepEqual(seen.sort((a, b) => a - b), Object.keys(groupOf).map(Number).sort((a, b) => a - b));

		// the same seed and model give the same answers (a second job on the same prompts)
		const again = await submit(srv, 'generate', { prompt_ids: picked.slice(0, 1), k: 3, max_tokens: 12, temperature: 1, seed: 7 });
		await succeeded(srv, again);
		const p0 = await promptDetail(srv, picked[0]);
		const byGroup = {};
		for (const r of p0.responses) (byGroup[r.group_id] ||= []).push(r.text);
		const [g1, g2] = Object.values(byGroup);
		assert.deepEqual(g2, g1, 'same model, prompt and seed: same answers');

		// default: the train prompts this model has not answered yet
		const rest = await submit(srv, 'generate', { k: 2, max_tokens: 8 });
		const rj = await succeeded(srv, rest);
		assert.equal(rj.metrics.groups, w.trainIds.length - picked.length);
		assert.equal((await promptDetail(srv, w.evalIds[0])).responses.length, 0, 'eval prompts untouched');
	} finally {
		await w.stop();
	}
});

test('generate: the answers of a group are distinct texts — duplicates are drawn again, else dropped', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		const picked = w.trainIds.slice(0, 6);
		const texts = async (pid) => (await promptDetail(srv, pid)).responses.map((r) => r.text);
		// greedy: K streams give one text, so each group keeps one answer
		const greedy = await succeeded(srv, await submit(srv, 'generate',
			{ prompt_ids: picked, k: 3, max_tokens: 6, temperature: 0, seed: 3 }));
		assert.equal(greedy.metrics.groups, 6);
		assert.equal(greedy.metrics.responses, 6, 'one answer per greedy group');
		assert.equal(greedy.metrics.duplicates_dropped, 12);
		assert.equal(greedy.metrics.redraws, 0, 'greedy is never redrawn');
		for (const pid of picked) assert.equal((await texts(pid)).length, 1);
		// distinct: false keeps the K samples as drawn (measuring a model)
		const drawn = await succeeded(srv, await submit(srv, 'generate',
			{ prompt_ids: picked.slice(0, 2), k: 3, max_tokens: 6, temperature: 0, seed: 3, distinct: false }));
		assert.equal(drawn.metrics.responses, 6);
		assert.equal(new Set(await texts(picked[0])).size, 1, 'three copies of the greedy answer');
		assert.equal((await texts(picked[0])).length, 4);
		// a temperature near 0 repeats itself: redrawn, and what stays a copy is dropped
		const low = await succeeded(srv, await submit(srv, 'generate',
			{ prompt_ids: w.evalIds.slice(0, 6), k: 4, max_tokens: 4, temperature: 0.05, seed: 5 }));
		assert.ok(low.metrics.redraws > 0, `some group was redrawn: ${JSON.stringify(low.metrics)}`);
		assert.equal(low.metrics.responses + low.metrics.duplicates_dropped, 24);
		for (const pid of w.evalIds.slice(0, 6)) {
			const t = await texts(pid);
			assert.ok(t.length >= 1 && t.length <= 4);
			assert.equal(new Set(t).size, t.length, `distinct texts in a group: ${JSON.stringify(t)}`);
		}
	} finally {
		await w.stop();
	}
});

test('a job runs queued → running → succeeded, progress rising, per-step metrics, a model version', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await importDemos(srv, w.trainIds);
		// a job long enough to watch (about 3 s here), and a second one queued behind it
		const epochs = await sftEpochsLasting(srv, 3);
		const first = await submit(srv, 'sft', { epochs, batch_size: 4, name: 'watched' });
		const second = await submit(srv, 'sft', { epochs: 1, batch_size: 4, activate: false });
		const q = (await srv.admin.get(`/api/jobs/${second}`)).json;
		assert.equal(q.status, 'queued', 'one job at a time: the second waits');
		assert.equal(q.progress, 0);
		assert.equal(q.started_at, null);

		const history = [];
		const done = await waitDone(srv, first, { history });
		assert.equal(done.status, 'succeeded', JSON.stringify(done));
		const statuses = history.map((h) => h.status).filter((s, i, a) => i === 0 || s !== a[i - 1]);
		assert.deepEqual(statuses.filter((s) => s !== 'queued'), ['running', 'succeeded'], `statuses seen: ${statuses}`);
		const progress = history.filter((h) => h.status === 'running').map((h) => h.progress);
		for (let i = 1; i < progress.length; i++)
			assert.ok(progress[i] >= progress[i - 1], `progress never falls: ${progress}`);
		assert.ok(progress.some((p) => p > 0 && p < 1), `progress seen between 0 and 1: ${progress.slice(0, 20)}`);
		assert.equal(done.progress, 1);
		assert.ok(done.started_at && done.finished_at);
		assert.equal(done.error, null);
		assert.ok(Number.isInteger(done.model_id) && done.model_id > 1, 'the version it made');
		assert.equal(done.metrics.demonstrations, w.trainIds.length);
		assert.equal(done.metrics.steps, epochs * Math.ceil(w.trainIds.length / 4), 'epochs x batches');

		// per-step metrics: a loss for every step, written while it ran
		const ms = await srv.admin.get(`/api/jobs/${first}/metrics`);
		assert.equal(ms.status, 200, ms.text);
		const loss = ms.json.series.filter((s) => s.name === 'loss');
		assert.equal(loss.length, done.metrics.steps);
		assert.ok(loss.every((s) => Number.isFinite(s.value) && s.value > 0));
		assert.ok(loss[loss.length - 1].value < loss[0].value, 'the loss fell on the demonstrations');

		// the version: kind, parent, job, params, metrics; active (the default for sft)
		const ver = (await models(srv)).find((m) => m.id === done.model_id);
		assert.equal(ver.kind, 'sft');
		assert.equal(ver.parent_id, 1);
		assert.equal(ver.job_id, first);
		assert.equal(ver.name, 'watched');
		assert.equal(ver.active, true);
		assert.equal(ver.params.epochs, epochs);
		assert.equal(ver.metrics.steps, done.metrics.steps);
		assert.ok(existsSync(path.join(w.dataDir, 'models', `${ver.id}.bin`)), 'the checkpoint file');

		// the second job then ran, from the new active model, and did not activate
		const d2 = await succeeded(srv, second);
		const v2 = (await models(srv)).find((m) => m.id === d2.model_id);
		assert.equal(v2.parent_id, done.model_id, 'trained from the model active when it started');
		assert.equal(v2.active, false, 'activate: false');
	} finally {
		await w.stop();
	}
});

test('cancel: a queued job at once, a running job at its next step (no version made)', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await importDemos(srv, w.trainIds);
		const running = await submit(srv, 'sft', { epochs: 1000, batch_size: 1 });
		const queued = await submit(srv, 'sft', { epochs: 1 });
		await waitJob(srv, running, (j) => j.status === 'running' && j.progress > 0);

		const cq = await srv.admin.post(`/api/jobs/${queued}/cancel`, {});
		assert.equal(cq.status, 200, cq.text);
		assert.equal(cq.json.status, 'cancelled');
		const jq = (await srv.admin.get(`/api/jobs/${queued}`)).json;
		assert.equal(jq.status, 'cancelled');
		assert.equal(jq.started_at, null, 'never ran');

		const before = (await models(srv)).length;
		const cr = await srv.admin.post(`/api/jobs/${running}/cancel`, {});
		assert.equal(cr.status, 200, cr.text);
		assert.equal(cr.json.cancel_requested, true);
		const jr = await waitDone(srv, running, { timeoutMs: 20000 });
		assert.equal(jr.status, 'cancelled');
		assert.ok(jr.progress < 1);
		assert.equal(jr.model_id, null);
		assert.equal((await models(srv)).length, before, 'no version from a cancelled job');
		// its metrics up to the cancel were kept
		const ms = (await srv.admin.get(`/api/jobs/${running}/metrics`)).json.series;
		assert.ok(ms.some((s) => s.name === 'loss'));
		// finished: a second cancel is 409; the worker goes on with new work
		assertError(await srv.admin.post(`/api/jobs/${running}/cancel`, {}), 409, 'cancel a cancelled job');
		const next = await submit(srv, 'generate', { prompt_ids: [w.trainIds[0]], k: 2, max_tokens: 4 });
		await succeeded(srv, next);
	} finally {
		await w.stop();
	}
});

test('failure: a reward job with no ratings fails with the reason, the server goes on', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		const id = await submit(srv, 'reward', { epochs: 1 });
		const j = await waitDone(srv, id);
		assert.equal(j.status, 'failed');
		assert.match(j.error, /^no ratings: /);
		assert.equal(j.model_id, null);
		assert.equal(j.metrics.ratings_upto, 0);
		assert.equal((await models(srv)).length, 1, 'no version');
		// a job without any model to train fails too, with its own reason
		const noRm = await submit(srv, 'ppo', { iterations: 1 });
		const j2 = await waitDone(srv, noRm);
		assert.equal(j2.status, 'failed');
		assert.match(j2.error, /^no reward model/);
		// the server is fine and the worker still runs jobs
		assert.equal((await srv.admin.get('/healthz')).status, 200);
		await succeeded(srv, await submit(srv, 'generate', { prompt_ids: [w.trainIds[0]], k: 2, max_tokens: 4 }));
	} finally {
		await w.stop();
	}
});

test('reward → ppo → rloo → dpo → eval on ratings: versions, parents, rating ids, eval figures', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await succeeded(srv, await submit(srv, 'generate', { k: 3, max_tokens: 10 }));
		const ann = await createRater(srv, 'ann');
		const saved = await rateAll(ann);
		assert.equal(saved, w.trainIds.length * 3);

		const rj = await succeeded(srv, await submit(srv, 'reward', { epochs: 2, heldout_frac: 0.25 }));
		assert.equal(rj.metrics.groups, w.trainIds.length);
		assert.equal(rj.metrics.ratings, saved);
		assert.ok(rj.metrics.heldout_pairs > 0);
		assert.ok(rj.metrics.heldout_acc >= 0 && rj.metrics.heldout_acc <= 1);
		let ms = await models(srv);
		const rm = ms.find((m) => m.id === rj.model_id);
		assert.equal(rm.kind, 'reward');
		assert.equal(rm.parent_id, 1);
		assert.equal(rm.ratings, saved, 'the exact rating ids it used are recorded');
		assert.equal(rm.active, false);
		assert.equal(ms.find((m) => m.active).id, 1, 'a reward model is never activated');
		assert.equal(rm.params.score, 'mean', 'how it scores, recorded with the version');
		const side = readFileSync(path.join(srv.dataDir, 'models', `${rm.id}.bin.rlhfd`), 'latin1');
		assert.ok(side.includes('"score":"mean"'), 'and in its sidecar, where RL and eval jobs read it');
		// the likelihood prior: the reference's (the SFT model 1's) features, its
		// weights fitted and recorded beside the network, where RL and eval read them
		const pr = rj.metrics.prior;
		assert.equal(pr.model_id, 1, 'the prior reads the policy\'s reference');
		assert.deepEqual(pr.features, ['mean_logprob', 'min_logprob', 'mean_pmi', 'min_pmi', 'log_length',
			'sum_pmi', 'rep4', 'prompt_overlap', 'recognition']);
		for (const k of ['w', 'mu', 'sd']) assert.equal(pr[k].length, 9, `prior ${k}`);
		assert.ok(pr.sd.every((x) => x > 0), `feature std ${pr.sd}`);
		assert.ok(side.includes('"prior":{'), 'the prior in the sidecar');
		assert.ok(rj.metrics.prior_heldout_acc >= 0 && rj.metrics.prior_heldout_acc <= 1);
		assert.equal(rj.metrics.heldout_acc, rj.metrics.prior_heldout_acc,
			'unseen prompts are scored by the prior alone: the held-out figures are its');
		assert.ok(typeof rj.metrics.heldout_acc_network === 'number');
		// and cross-validated over every rated prompt (5 folds by default): all
		// of them held out once, so more pairs than the split's held-out ones
		const cv = rj.metrics;
		assert.equal(cv.cv_folds, Math.min(5, cv.heldout_prompts + cv.train_prompts));
		assert.equal(cv.cv_prompts, cv.heldout_prompts + cv.train_prompts, 'every rated prompt');
		assert.ok(cv.cv_pairs >= cv.heldout_pairs && cv.cv_pairs <= cv.heldout_pairs + cv.train_pairs,
			`cv pairs ${cv.cv_pairs}, split ${cv.heldout_pairs} + ${cv.train_pairs}`);
		assert.ok(cv.cv_lo <= cv.cv_acc && cv.cv_acc <= cv.cv_hi && cv.cv_lo >= 0 && cv.cv_hi <= 1,
			`cv ${cv.cv_acc} [${cv.cv_lo}, ${cv.cv_hi}]`);

		// the RL gate: a reward model no better than chance on held-out prompts (a
		// few nonsense pairs) is refused, with its figures, and nothing is made
		const rl = { iterations: 2, prompts_per_iter: 2, k: 2, max_new: 8, minibatch: 4 };
		const refused = await waitDone(srv, await submit(srv, 'ppo', rl));
		assert.equal(refused.status, 'failed');
		assert.match(refused.error, new RegExp(`^reward model ${rm.id}: it is not credibly better than chance ` +
			'on held-out prompts: pairwise accuracy [0-9.]+, 95% interval \\[[0-9.]+, [0-9.]+\\] over [0-9]+ pairs'));
		assert.ok(rj.metrics.heldout_lo <= 0.55, `the reward model's lower bound ${rj.metrics.heldout_lo}`);
		assert.equal(refused.model_id, null);
		// RL trains on the prompts the reward model trained on: its held-out ones are left out
		assert.deepEqual([...rj.metrics.train_prompt_ids, ...rj.metrics.heldout_prompt_ids].sort((a, b) => a - b),
			[...w.trainIds].sort((a, b) => a - b), 'every rated prompt is either trained on or held out');
		assert.ok(rj.metrics.heldout_prompt_ids.length >= 1);
		Object.assign(rl, { require_reward_acc: 0, promote: 'always' });
		const pj = await succeeded(srv, await submit(srv, 'ppo', rl));
		assert.equal(pj.metrics.prompts, rj.metrics.train_prompt_ids.length, 'the reward model\'s training prompts');
		assert.equal(pj.metrics.promotion.decision, 'promoted');
		for (const key of ['iterations', 'steps', 'reward_last', 'kl_last'])
			assert.ok(key in pj.metrics, `ppo metric ${key}`);
		const series = (await srv.admin.get(`/api/jobs/${pj.id}/metrics`)).json.series;
		for (const name of ['reward_mean', 'kl', 'entropy', 'value_loss'])
			assert.equal(series.filter((s) => s.name === name).length, 2, `one ${name} per update`);
		const oj = await succeeded(srv, await submit(srv, 'rloo', rl));
		const dj = await succeeded(srv, await submit(srv, 'dpo', { epochs: 1 }));
		ms = await models(srv);
		const ppo = ms.find((m) => m.id === pj.model_id), rloo = ms.find((m) => m.id === oj.model_id),
			dpo = ms.find((m) => m.id === dj.model_id);
		assert.equal(ppo.kind, 'policy');
		assert.equal(ppo.parent_id, 1, 'the policy it started from');
		assert.equal(ppo.params.reward_model_id, rm.id);
		assert.equal(ppo.params.ref_model_id, 1, 'no sft ancestor: the policy itself is the reference');
		assert.equal(rloo.parent_id, ppo.id);
		assert.equal(dpo.parent_id, rloo.id);
		assert.ok(dpo.ratings > 0 && dpo.ratings <= saved);
		assert.equal(ms.find((m) => m.active).id, dpo.id, 'each policy job activated its version');

		const ej = await succeeded(srv, await submit(srv, 'eval', { model_id: dpo.id, max_new: 8 }));
		assert.equal(ej.model_id, dpo.id);
		assert.equal(ej.metrics.prompts, w.evalIds.length);
		const ev = (await models(srv)).find((m) => m.id === dpo.id).metrics.eval;
		assert.ok(ev, 'figures stored on the version');
		assert.equal(ev.job_id, ej.id);
		assert.equal(ev.split, 'eval');
		assert.equal(ev.reward_model_id, rm.id);
		assert.equal(ev.parent_id, rloo.id);
		for (const key of ['reward_mean', 'kl', 'win_rate'])
			assert.ok(typeof ev[key] === 'number' && Number.isFinite(ev[key]), `eval ${key}: ${ev[key]}`);
		assert.ok(ev.win_rate >= 0 && ev.win_rate <= 1);

		// prior: false trains and records the network alone
		const noPrior = await succeeded(srv, await submit(srv, 'reward', { epochs: 1, heldout_frac: 0.25, prior: false, warm_start: false }));
		assert.ok(!('prior' in noPrior.metrics) && noPrior.metrics.heldout_acc_network === null,
			'prior: false trains the network alone');
		assert.ok(noPrior.metrics.cv_acc === null && noPrior.metrics.cv_folds === 0,
			'and cross-validates no prior');
		const side2 = readFileSync(path.join(srv.dataDir, 'models', `${noPrior.model_id}.bin.rlhfd`), 'latin1');
		assert.ok(!side2.includes('"prior"'), 'and records no prior');
	} finally {
		await w.stop();
	}
});

test('activate and roll back: new answers come from the active version', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await importDemos(srv, w.trainIds);
		const sj = await succeeded(srv, await submit(srv, 'sft', { epochs: 2 }));
		let ms = await models(srv);
		assert.equal(ms.find((m) => m.active).id, sj.model_id);
		await succeeded(srv, await submit(srv, 'generate', { prompt_ids: [w.evalIds[0]], k: 2, max_tokens: 4 }));
		// rollback to the base model
		const a = await srv.admin.post('/api/models/1/activate', {});
		assert.equal(a.status, 200, a.text);
		ms = await models(srv);
		assert.deepEqual(ms.filter((m) => m.active).map((m) => m.id), [1]);
		await succeeded(srv, await submit(srv, 'generate', { prompt_ids: [w.evalIds[1]], k: 2, max_tokens: 4 }));
		assert.ok((await promptDetail(srv, w.evalIds[0])).responses.every((r) => r.model_id === sj.model_id));
		assert.ok((await promptDetail(srv, w.evalIds[1])).responses.every((r) => r.model_id === 1));
	} finally {
		await w.stop();
	}
});

test('kill -9 during a job: on restart it is failed "interrupted", and retry queues it again', async () => {
	const w = await serverWithModel();
	let srv2 = null;
	try {
		const { srv } = w;
		await importDemos(srv, w.trainIds);
		const params = { epochs: 1000, batch_size: 1 };
		const id = await submit(srv, 'sft', params);
		await waitJob(srv, id, (j) => j.status === 'running' && j.progress > 0);
		await srv.kill9();
		srv2 = await startServer({ dataDir: w.dataDir, adminToken: srv.adminToken });
		const j = (await srv2.admin.get(`/api/jobs/${id}`)).json;
		assert.equal(j.status, 'failed');
		assert.equal(j.error, 'interrupted: the server stopped while the job was running');
		assert.ok(j.finished_at);
		// retry: a new queued job with the same kind and params
		const r = await srv2.admin.post(`/api/jobs/${id}/retry`, {});
		assert.equal(r.status, 202, r.text);
		assert.equal(r.json.retry_of, id);
		const nid = r.json.job_id;
		assert.ok(nid > id);
		const nj = await waitJob(srv2, nid, (x) => x.status === 'running');
		assert.equal(nj.kind, 'sft');
		assert.deepEqual(nj.params, params);
		// only failed and cancelled jobs may be retried; unknown ids are 404
		assertError(await srv2.admin.post(`/api/jobs/${nid}/retry`, {}), 409, 'retry a running job');
		assertError(await srv2.admin.post('/api/jobs/9999/retry', {}), 404, 'retry an unknown job');
		assert.equal((await srv2.admin.post(`/api/jobs/${nid}/cancel`, {})).status, 200);
		assert.equal((await waitDone(srv2, nid)).status, 'cancelled');
	} finally {
		await w.srv.stop({ keepData: true });
		if (srv2) await srv2.stop();
		rmSync(w.dataDir, { recursive: true, force: true });
	}
});

test('a graceful stop records the running job as interrupted', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await importDemos(srv, w.trainIds);
		const id = await submit(srv, 'sft', { epochs: 1000, batch_size: 1 });
		await waitJob(srv, id, (j) => j.status === 'running' && j.progress > 0);
		await srv.stop({ keepData: true });
		assert.equal(srv.exited().code, 0, 'a clean exit, not a kill');
		const again = await startServer({ dataDir: w.dataDir, adminToken: srv.adminToken });
		try {
			const j = (await again.admin.get(`/api/jobs/${id}`)).json;
			assert.equal(j.status, 'failed');
			assert.equal(j.error, 'interrupted: the server stopped while the job was running');
		} finally {
			await again.stop();
		}
	} finally {
		await w.srv.stop({ keepData: true });
		rmSync(w.dataDir, { recursive: true, force: true });
	}
});

test('job params: unknown keys and out-of-range values are 400 and queue nothing', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		const cases = [
			[{ kind: 'sft', params: { learning_rate: 1 } }, 'params.learning_rate'],
			[{ kind: 'sft', params: { lr: 0 } }, 'params.lr'],
			[{ kind: 'ppo', params: { k: 0 } }, 'params.k'],
			[{ kind: 'ppo', params: { iterations: 1.5 } }, 'params.iterations'],
			[{ kind: 'reward', params: { activate: true } }, 'params.activate'],
			[{ kind: 'reward', params: { auto: true } }, 'params.auto'],
			[{ kind: 'dpo', params: { beta: 'big' } }, 'params.beta'],
			[{ kind: 'eval', params: { model_id: 1, split: 'test' } }, 'params.split'],
			[{ kind: 'reward', params: { score: 'max' } }, 'params.score'],
			[{ kind: 'sft', params: { min_score: 6 } }, 'params.min_score'],
		];
		for (const [body, field] of cases) {
			const r = await srv.admin.post('/api/train', body);
			assertError(r, 400, JSON.stringify(body));
			assert.equal(r.json.error.field, field, JSON.stringify(body));
		}
		assertError(await srv.admin.post('/api/generate', { max_prompts: -1 }), 400, 'generate max_prompts');
		assert.deepEqual((await srv.admin.get('/api/jobs')).json.jobs, [], 'nothing queued');
		// config: the auto-training loop's job params are checked the same way
		const c = await srv.admin.put('/api/config', { auto_train: { rl_params: { bogus: 1 } } });
		assertError(c, 400, 'auto_train.rl_params');
		assert.equal(c.json.error.field, 'auto_train.rl_params.bogus');
	} finally {
		await w.stop();
	}
});

test('auto-training: after N new ratings the loop queues reward → rl → generate by itself', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await succeeded(srv, await submit(srv, 'generate', { prompt_ids: w.trainIds.slice(0, 4), k: 3, max_tokens: 8 }));
		const cfg = await srv.admin.put('/api/config', { auto_train: {
			enabled: true, reward_every_n_ratings: 9, rl_kind: 'rloo', generate_k: 2, generate_prompts: 3,
			generate_explore: 2, reward_params: { epochs: 1 }, promote: 'always',
			rl_params: { iterations: 2, prompts_per_iter: 2, k: 2, max_new: 6, require_reward_acc: 0 },
		} });
		assert.equal(cfg.status, 200, cfg.text);
		const ann = await createRater(srv, 'ann');
		// two groups (6 ratings) are not enough
		for (let i = 0; i < 2; i++) {
			const t = (await ann.client.get('/api/tasks/next')).json.task;
			const s = await ann.client.post('/api/ratings', { group_id: t.group_id,
				ratings: t.responses.map((x, k) => ({ response_id: x.id, score: [1, 5, 3][k] })) });
			assert.equal(s.status, 201);
		}
		await sleep(2600);
		assert.equal((await srv.admin.get('/api/jobs')).json.jobs.filter((j) => j.kind === 'reward').length, 0);
		await rateAll(ann);   // 12 ratings now
		// the loop: reward, then rloo, then generate, each queued by the one before
		const deadline = Date.now() + 90000;
		let jobs;
		for (;;) {
			jobs = (await srv.admin.get('/api/jobs')).json.jobs;
			const gen = jobs.find((j) => j.kind === 'generate' && j.params.auto);
			if (gen && FINISHED.includes(gen.status)) break;
			if (jobs.some((j) => j.params.auto && j.status === 'failed'))
				assert.fail(`an auto job failed: ${JSON.stringify(jobs)}`);
			if (Date.now() > deadline) assert.fail(`the loop did not turn: ${JSON.stringify(jobs)}`);
			await sleep(100);
		}
		const auto = jobs.filter((j) => j.params.auto).reverse();
		assert.deepEqual(auto.map((j) => j.kind), ['reward', 'rloo', 'generate']);
		assert.ok(auto.every((j) => j.status === 'succeeded'), JSON.stringify(auto));
		assert.equal(auto[0].metrics.ratings, 12);
		assert.equal(auto[1].params.iterations, 2, 'rl_params passed on');
		const policy = auto[1].model_id;
		const ms = await models(srv);
		assert.equal(ms.find((m) => m.active).id, policy, 'the new policy is active');
		assert.equal(auto[2].metrics.model_id, policy, 'fresh answers from the new policy');
		assert.ok(Number.isInteger(auto[2].params.pair_model_id), 'pair_model_id set');
		assert.equal(auto[2].params.pair_model_id, ms.find((m) => m.id === policy).parent_id,
			'on the prompts its parent answered first, for people\'s verdict');
		assert.equal(auto[2].metrics.groups, 3);
		assert.equal(auto[2].metrics.responses, 6, 'generate_k answers each');
		// generate_explore passed on: every rated prompt had an answer rated 5, none to explore
		assert.equal(auto[2].params.explore, 2);
		assert.equal(auto[2].metrics.explore_prompts, 0);
		// they wait in the rating queue
		const t = await ann.client.get('/api/tasks/next');
		assert.equal(t.status, 200);
		assert.equal(t.json.task.responses.length, 2);
		// no second loop without new ratings
		await sleep(2600);
		assert.equal((await srv.admin.get('/api/jobs')).json.jobs.filter((j) => j.params.auto).length, 3);
	} finally {
		await w.stop();
	}
});

/*
 * Rank judgements count toward reward_every_n_ratings as ratings do, one per
 * answer placed (a ranking of 3 answers counts 3): /api/stats says how many
 * are in, and the loop's reward job starts on them and marks them
 * (params.orderings_upto: the largest judgement row id, 3 groups x 3 answers).
 */
test('auto-training: rank judgements start the loop as ratings do', async () => {
	const w = await serverWithModel();
	try {
		const { srv } = w;
		await succeeded(srv, await submit(srv, 'generate', { prompt_ids: w.trainIds.slice(0, 4), k: 3, max_tokens: 8 }));
		assert.equal((await srv.admin.put('/api/config', { task_kind: 'rank', auto_train: {
			enabled: true, reward_every_n_ratings: 7, rl_kind: 'rloo', generate_k: 2, generate_prompts: 2,
			reward_params: { epochs: 1 },
			rl_params: { iterations: 1, prompts_per_iter: 2, k: 2, max_new: 4, require_reward_acc: 0 },
		} })).status, 200);
		const ann = await createRater(srv, 'ann');
		const rank = async () => {
			const t = (await ann.client.get('/api/tasks/next')).json.task;
			assert.equal(t.task_kind, 'rank');
			const ids = t.responses.map((x) => x.id);
			const s = await ann.client.post('/api/ratings', { group_id: t.group_id, ranking: [ids[1], ids[0], ids[2]] });
			assert.equal(s.status, 201, s.text);
		};
		await rank();
		await rank();  // 6 answers placed: one short of 7
		await sleep(2600);
		assert.equal((await srv.admin.get('/api/jobs')).json.jobs.filter((j) => j.kind === 'reward').length, 0,
			'no reward job before 7 answers are judged');
		const st = (await srv.admin.get('/api/stats')).json.auto_train;
		assert.equal(st.since_last, 6);
		assert.equal(st.remaining, 1);
		await rank();  // 9
		const deadline = Date.now() + 30000;
		let rw;
		while (!(rw = (await srv.admin.get('/api/jobs')).json.jobs.find((j) => j.kind === 'reward'))) {
			assert.ok(Date.now() < deadline, 'the judgements did not start a reward job');
			await sleep(200);
		}
		assert.equal(rw.params.auto, true);
		assert.equal(rw.params.orderings_upto, 9);
		const done = await waitDone(srv, rw.id);
		assert.equal(done.status, 'succeeded', done.error);
		assert.equal(done.metrics.judgements, 3, 'the reward job learned from the three rankings');
		assert.equal(done.metrics.orderings_upto, 9);
		await srv.admin.put('/api/config', { auto_train: { enabled: false } });
	} finally {
		await w.stop();
	}
});

test('import-model and export-model: a llama2.c file in and out unchanged', async () => {
	const dataDir = mkdtempSync(path.join(tmpdir(), 'rlhfd-jobs-io-'));
	try {
		assert.match(rlhfd(['import-model', '--data', dataDir, '--model', base, '--tokenizer', tok,
			'--name', 'a', '--template', 'Q: {prompt}\nA:']), /^model_id=1$/m);
		assert.match(rlhfd(['import-model', '--data', dataDir, '--model', base, '--tokenizer', tok,
			'--kind', 'sft']), /^model_id=2$/m);
		const out = path.join(dataDir, 'out.bin'), tokOut = path.join(dataDir, 'out-tok.bin');
		rlhfd(['export-model', '--data', dataDir, '--id', '1', '--out', out, '--tokenizer-out', tokOut]);
		assert.deepEqual(readFileSync(tokOut), readFileSync(tok), 'the tokenizer comes back byte for byte');
		// the exported weights generate exactly what the original does (greedy)
		const sample = (m, t) => rlhfd(['sample', '--model', m, '--tokenizer', t, '--prompt', 'User: hi',
			'--temperature', '0', '--steps', '12', '--ids']);
		assert.equal(sample(out, tokOut), sample(base, tok));
		// errors: a missing file, an unknown version, a template without {prompt}
		assert.throws(() => rlhfd(['import-model', '--data', dataDir, '--model', path.join(dataDir, 'nope.bin'), '--tokenizer', tok]),
			(e) => e.status === 1 && /cannot open/.test(e.stderr));
		assert.throws(() => rlhfd(['export-model', '--data', dataDir, '--id', '9', '--out', out]),
			(e) => e.status === 1 && /model 9 not found/.test(e.stderr));
		assert.throws(() => rlhfd(['import-model', '--data', dataDir, '--model', base, '--tokenizer', tok, '--template', 'x']),
			(e) => e.status === 1 && /\{prompt\}/.test(e.stderr));
		// a server on that directory lists both versions; the template is kept in the sidecar
		const srv = await startServer({ dataDir, adminToken: randomToken() });
		try {
			const ms = await models(srv);
			assert.deepEqual(ms.map((m) => [m.id, m.kind, m.active]), [[2, 'sft', false], [1, 'base', false]]);
		} finally {
			await srv.stop();
		}
		const side = readFileSync(path.join(dataDir, 'models', '1.bin.rlhfd'));
		assert.ok(side.includes(Buffer.from('"template":"Q: {prompt}\\nA:"')), 'template in the sidecar metadata');
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
	}
});
