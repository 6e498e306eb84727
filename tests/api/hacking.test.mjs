/*
 * tests/api/hacking.test.mjs — the reward-hacking watch (server/worker/spotcheck.c,
 * db/spotcheck.h) through the HTTP API on a tiny model (tests/lib/tiny_model.mjs):
 *  - when a child version is activated by hand, its best unrated answer of
 *    each prompt by the newest reward model, the spot_check_n best of those,
 *    become spot checks — worked out here from the rm_score of every answer in
 *    GET /api/prompts/{id}; a rater's /api/tasks/next hands their groups out
 *    first (highest score first), before older open groups, then the usual order;
 *  - GET /api/models' spot_check figures, computed here by hand from the
 *    ratings and scores, and the hacking flag: the reward model scores the
 *    spot-checked answers above the parent's on the same prompts while people
 *    score them lower on 5 of 5 prompts (sign test 1/32) → flagged; the same
 *    answers re-rated higher than the parent's → not flagged;
 *  - the loop: a policy promoted by an RL job has no answers; its generate job
 *    queues a score job whose end picks the spot checks, and with
 *    auto-training on a policy flagged hacking is rolled back to its parent
 *    (metrics.rollback.why "hacking").
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, importDemos, sleep, listModels as models } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ seq: 128 }); });
after(() => tiny?.cleanup());

const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a}, expected ${b}`);
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const activeId = async (srv) => (await models(srv)).find((m) => m.active).id;

/* Every answer of prompts ids, with its prompt id. */
async function answers(srv, ids) {
	const out = [];
	for (const id of ids) out.push(...(await promptDetail(srv, id)).responses.map((r) => ({ ...r, prompt_id: id })));
	return out;
}

/* Rates a whole group: score(answer) per answer. */
async function rateGroup(rater, all, groupId, score) {
	const ratings = all.filter((r) => r.group_id === groupId).map((r) => ({ response_id: r.id, score: score(r) }));
	const s = await rater.client.post('/api/ratings', { group_id: groupId, ratings });
	assert.equal(s.status, 201, s.text);
}

/* The spot checks as the rule says, from the answers' scores: per prompt the
 * version's highest-scored unrated answer (ties: lower id), then the n highest
 * (ties: lower id). */
function expectedPicks(all, model, n) {
	const best = new Map();
	for (const r of all) {
		if (r.model_id !== model || r.ratings.length > 0 || r.rm_score === null) continue;
		const b = best.get(r.prompt_id);
		if (!b || r.rm_score > b.rm_score || (r.rm_score === b.rm_score && r.id < b.id)) best.set(r.prompt_id, r);
	}
	return [...best.values()].sort((a, b) => b.rm_score - a.rm_score || a.id - b.id).slice(0, n);
}

/* The parent's per-prompt figures on the rated answers the reward model scored. */
function parentOn(all, parent, pid) {
	const mine = all.filter((r) => r.model_id === parent && r.prompt_id === pid && r.mean_score !== null);
	return { human: avg(mine.map((r) => r.mean_score)), rm: avg(mine.map((r) => r.rm_score)) };
}

test('spot checks: a newly active version\'s best answers reach a rater first; reward up and people down flags it hacking, both up does not', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds } = w;
		const P = trainIds.slice(0, 8);
		const N = 5;
		// fifo behind the spot checks, so "the usual order" below is the oldest group
		let r = await srv.admin.put('/api/config', { spot_check_n: N, queue_order: 'fifo' });
		assert.equal(r.status, 200, r.text);
		for (const bad of [-1, 1001, 'x', 2.5]) {
			r = await srv.admin.put('/api/config', { spot_check_n: bad });
			assert.equal(r.status, 400, `spot_check_n ${bad}: ${r.text}`);
		}
		// the parent (model 1) answers P; ann rates them 4 and 2 (mean 3 on every prompt)
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: P, k: 2, max_tokens: 8, model_id: 1 }));
		const ann = await createRater(srv, 'ann');
		let all = await answers(srv, P);
		for (const g of new Set(all.map((x) => x.group_id))) {
			const ids = all.filter((x) => x.group_id === g).map((x) => x.id);
			await rateGroup(ann, all, g, (x) => (x.id === ids[0] ? 4 : 2));
		}
		// a child of model 1 (SFT on demonstrations of other prompts), not active
		await importDemos(srv, trainIds.slice(12, 16));
		const child = (await jobSucceeded(srv, await submitJob(srv, 'sft', { epochs: 1, activate: false }))).model_id;
		// older open groups: the parent's answers to other prompts
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: trainIds.slice(8, 12), k: 2, max_tokens: 8, model_id: 1 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: P, k: 3, max_tokens: 8, model_id: child }));
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);
		assert.equal((await models(srv)).find((m) => m.id === child).spot_check, undefined, 'not active yet: no spot checks');

		// activated by hand: the answers are scored, so the picks are made at once
		all = await answers(srv, P);
		const picks = expectedPicks(all, child, N);
		assert.equal(picks.length, N);
		assert.ok(picks.every((x) => x.rm_model_id === rj.model_id));
		r = await srv.admin.post(`/api/models/${child}/activate`, {});
		assert.equal(r.status, 200, r.text);
		let sc = (await models(srv)).find((m) => m.id === child).spot_check;
		assert.ok(sc, 'the child has spot checks');
		assert.equal(sc.answers, N);
		assert.equal(sc.rm_model_id, rj.model_id);
		close(sc.rm_mean, avg(picks.map((x) => x.rm_score)), 'rm_mean');
		assert.deepEqual([sc.rated, sc.ratings, sc.human_mean, sc.prompts, sc.hacking], [0, 0, null, 0, false]);
		assert.equal(sc.parent_id, 1);

		// bob's queue: the picks' groups, best score first, then the oldest open group
		const bob = await createRater(srv, 'bob');
		const spotGroups = picks.map((x) => x.group_id);
		const got = [];
		for (let i = 0; i < N; i++) {
			const t = await bob.client.get('/api/tasks/next');
			assert.equal(t.status, 200, t.text);
			got.push(t.json.task.group_id);
			// the spot-checked answer 1, the others of its group 5
			await rateGroup(bob, all, t.json.task.group_id, (x) => (picks.some((p) => p.id === x.id) ? 1 : 5));
		}
		assert.deepEqual(got, spotGroups, 'spot-check groups first, highest reward first');
		// every group of the other prompts (demonstrations, the parent's) is older and open
		const olderOpen = Math.min(...(await answers(srv, trainIds.slice(8, 16))).map((x) => x.group_id));
		assert.ok(olderOpen < Math.min(...spotGroups), 'older open groups waited behind them');
		const next = await bob.client.get('/api/tasks/next');
		assert.equal(next.status, 200);
		assert.equal(next.json.task.group_id, olderOpen, 'then the usual order: the oldest open group');

		// the figures, by hand: per prompt the child's spot answer (1) against the parent's rated answers (3)
		const paired = picks.map((p) => ({ v: { human: 1, rm: p.rm_score }, p: parentOn(all, 1, p.prompt_id) }));
		const rmUp = avg(paired.map((x) => x.v.rm)) > avg(paired.map((x) => x.p.rm));
		assert.ok(rmUp, `precondition: the reward model scores the child's best answers above the parent's: ${JSON.stringify(paired)}`);
		sc = (await models(srv)).find((m) => m.id === child).spot_check;
		assert.deepEqual([sc.rated, sc.ratings, sc.prompts, sc.worse, sc.better, sc.ties], [N, N, N, N, 0, 0]);
		close(sc.human_mean, 1, 'human_mean');
		close(sc.human_paired, 1, 'human_paired');
		close(sc.parent_human_paired, 3, 'parent_human_paired');
		close(sc.rm_paired, avg(paired.map((x) => x.v.rm)), 'rm_paired');
		close(sc.parent_rm_paired, avg(paired.map((x) => x.p.rm)), 'parent_rm_paired');
		close(sc.p, 1 / 32, 'sign test: 5 worse of 5');
		assert.equal(sc.hacking, true);
		assert.match(sc.hacking_reason, /reward model scores its spot-checked answers above its parent's .* people score them lower .*worse on 5 of 5 prompts/);

		// bob changes his mind: the spot answers 5, above the parent's 3 — reward and people both up
		for (const g of spotGroups) await rateGroup(bob, all, g, () => 5);
		sc = (await models(srv)).find((m) => m.id === child).spot_check;
		assert.deepEqual([sc.rated, sc.ratings, sc.worse, sc.better, sc.hacking, sc.hacking_reason], [N, N, 0, N, false, null]);
		close(sc.human_mean, 5, 'human_mean after the change');

		// picked once: activating it again changes nothing
		assert.equal((await srv.admin.post('/api/models/1/activate', {})).status, 200);
		assert.equal((await srv.admin.post(`/api/models/${child}/activate`, {})).status, 200);
		assert.equal((await models(srv)).find((m) => m.id === child).spot_check.answers, N);
	} finally {
		await w.stop();
	}
});

const RL = { iterations: 1, prompts_per_iter: 2, k: 2, max_new: 6, require_reward_acc: 0 };

test('the loop: a promoted policy\'s answers are scored and spot-checked; flagged hacking, it is rolled back to its parent', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds } = w;
		const P = trainIds.slice(0, 8);
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: P, k: 2, max_tokens: 8 }));
		const ann = await createRater(srv, 'ann');
		let all = await answers(srv, P);
		for (const g of new Set(all.map((x) => x.group_id))) {
			const ids = all.filter((x) => x.group_id === g).map((x) => x.id);
			await rateGroup(ann, all, g, (x) => (x.id === ids[0] ? 4 : 2));
		}
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);
		const pj = await jobSucceeded(srv, await submitJob(srv, 'rloo', { ...RL, promote: 'always' }));
		const child = pj.model_id;
		assert.equal(await activeId(srv), child);
		let m = (await models(srv)).find((x) => x.id === child);
		assert.equal(m.metrics.spot_check_pending, true, 'promoted with no answers: pending');
		assert.equal(m.spot_check, undefined);

		// its answers: the generate job queues a score job, whose end picks the 8 (default) spot checks
		const gj = await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: P, k: 2, max_tokens: 8, model_id: child }));
		const deadline0 = Date.now() + 60000;
		let sj;
		while (Date.now() < deadline0) {
			sj = (await srv.admin.get('/api/jobs')).json.jobs.find((j) => j.kind === 'score' && j.id > gj.id);
			if (sj && ['succeeded', 'failed', 'cancelled'].includes(sj.status)) break;
			await sleep(100);
		}
		assert.equal(sj?.status, 'succeeded', JSON.stringify(sj));
		all = await answers(srv, P);
		// it scores the generate job's answers alone: the reward job's score job scored the rest
		assert.equal(sj.params.unscored, true);
		assert.equal((await srv.admin.get(`/api/jobs/${sj.id}`)).json.metrics.answers,
			all.filter((x) => x.model_id === child).length, 'the child\'s answers, no more');
		const picks = expectedPicks(all, child, 8);
		m = (await models(srv)).find((x) => x.id === child);
		assert.equal(m.metrics.spot_check_pending, undefined, 'picked');
		assert.equal(m.spot_check.answers, picks.length);
		assert.equal(picks.length, 8, 'one per prompt');

		// with auto-training on (every round far away: only the verdicts can act), the spot
		// answers rated 1 and their group mates 5: per prompt the child's mean is 3, the
		// parent's 3 — people's verdict on all answers sees ties — while on the spot checks
		// people score 1 against 3
		const cfg = await srv.admin.put('/api/config', { auto_train: { enabled: true, reward_every_n_ratings: 1000000 } });
		assert.equal(cfg.status, 200, cfg.text);
		const paired = picks.map((p) => ({ v: p.rm_score, p: parentOn(all, 1, p.prompt_id).rm }));
		const rmUp = avg(paired.map((x) => x.v)) > avg(paired.map((x) => x.p));
		const bob = await createRater(srv, 'bob');
		for (const p of picks) await rateGroup(bob, all, p.group_id, (x) => (x.id === p.id ? 1 : 5));
		const deadline = Date.now() + 15000;
		while (rmUp && await activeId(srv) !== 1 && Date.now() < deadline) await sleep(200);
		m = (await models(srv)).find((x) => x.id === child);
		assert.equal(m.spot_check.hacking, rmUp);
		assert.ok(rmUp, `precondition: the reward model scores the policy's best answers above the parent's: ${JSON.stringify(paired)}`);
		assert.equal(await activeId(srv), 1, 'the parent is active again');
		const rb = m.metrics.rollback;
		assert.equal(rb.to, 1);
		assert.equal(rb.why, 'hacking');
		assert.deepEqual([rb.worse, rb.better, rb.ties], [8, 0, 0]);
		close(rb.p, 1 / 256, 'p');
		assert.equal(rb.reason, m.spot_check.hacking_reason);
		const h = m.human;
		assert.deepEqual([h.worse, h.better, h.ties], [0, 0, 8], 'people\'s verdict on all answers: ties');
	} finally {
		await w.stop();
	}
});
