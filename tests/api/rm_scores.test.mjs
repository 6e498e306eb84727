/*
 * tests/api/rm_scores.test.mjs — reward-model scores beside the human ones,
 * through the HTTP API on a tiny model (tests/lib/tiny_model.mjs): before any
 * reward job no answer has an rm_score; after a reward job the worker runs a
 * score job by itself (server/worker/job.c record_end, job_score.c) and every
 * answer, rated or not, gets a finite rm_score from that reward model in
 * GET /api/prompts/{id}; two answers with the same text to the same prompt
 * (in different groups) get the same score; a second reward job's score job
 * replaces the model the scores come from; ratings.jsonl and pairs.jsonl
 * carry the scores; a score job started by hand takes its parameters.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonl } from '../lib/server.mjs';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, waitJob, rateAll, FINISHED } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 6, evalPrompts: 2 }); });
after(() => tiny?.cleanup());

const jsonl = async (srv, url) => {
	const r = await srv.admin.get(url);
	assert.equal(r.status, 200, `${url}: ${r.text.slice(0, 300)}`);
	return parseJsonl(r.text);
};

async function answers(srv, ids) {
	const out = [];
	for (const id of ids) out.push(...(await promptDetail(srv, id)).responses.map((r) => ({ ...r, prompt_id: id })));
	return out;
}

const SAME = 'The same answer, written twice.';

test('a reward job is followed by a score job: every answer gets its reward-model score, in the prompt page and the exports', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds, evalIds } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, max_tokens: 8, split: 'eval' }));
		// one prompt gets the same text in two imported groups (both unrated)
		for (let i = 0; i < 2; i++) {
			const r = await srv.admin.post(`/api/prompts/${trainIds[0]}/responses`, { responses: [{ text: SAME }] });
			assert.equal(r.status, 201, r.text);
		}
		await rateAll(await createRater(srv, 'ann'));

		// before any reward job: null everywhere
		for (const r of await answers(srv, trainIds)) {
			assert.ok('rm_score' in r && 'rm_model_id' in r, JSON.stringify(r));
			assert.equal(r.rm_score, null);
			assert.equal(r.rm_model_id, null);
		}
		const rated = await jsonl(srv, '/api/export/ratings.jsonl');
		assert.ok(rated.length > 0 && rated.every((l) => l.rm_score === null));

		// a reward job queues its score job, which runs by itself
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		assert.ok(Number.isInteger(rj.metrics.score_job_id), JSON.stringify(rj.metrics));
		const sj = await jobSucceeded(srv, rj.metrics.score_job_id);
		assert.equal(sj.kind, 'score');
		assert.ok(!('auto' in sj.params), 'not a step of the auto-training loop');
		assert.equal(sj.params.reward_model_id, rj.model_id);
		assert.equal(sj.metrics.reward_model_id, rj.model_id);
		assert.equal(sj.metrics.settings.split, null, 'both splits');

		const train = await answers(srv, trainIds), evals = await answers(srv, evalIds);
		assert.ok(evals.length > 0);
		assert.equal(sj.metrics.answers, train.length + evals.length);
		for (const r of [...train, ...evals]) {
			assert.ok(Number.isFinite(r.rm_score), `answer ${r.id}: ${JSON.stringify(r)}`);
			assert.equal(r.rm_model_id, rj.model_id);
		}
		const twins = train.filter((r) => r.text === SAME);
		assert.equal(twins.length, 2);
		assert.notEqual(twins[0].group_id, twins[1].group_id);
		assert.ok(Math.abs(twins[0].rm_score - twins[1].rm_score) < 1e-5, JSON.stringify(twins));
		assert.ok(new Set(train.map((r) => r.rm_score)).size > 1, 'the scores tell answers apart');

		// the exports: the same scores, per answer
		const byId = new Map([...train, ...evals].map((r) => [r.id, r]));
		const lines = await jsonl(srv, '/api/export/ratings.jsonl');
		for (const l of lines) assert.equal(l.rm_score, byId.get(l.response_id).rm_score, JSON.stringify(l));
		const pairs = await jsonl(srv, '/api/export/pairs.jsonl');
		assert.ok(pairs.length > 0);
		for (const p of pairs) {
			assert.equal(p.rm_score_chosen, byId.get(p.chosen_id).rm_score);
			assert.equal(p.rm_score_rejected, byId.get(p.rejected_id).rm_score);
			for (const k of ['prompt', 'chosen', 'rejected', 'score_chosen', 'score_rejected', 'prompt_id', 'group_id', 'chosen_id', 'rejected_id'])
				assert.ok(k in p, k);
		}

		// a second reward job: its score job's model replaces the first's
		const rj2 = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		assert.ok(rj2.model_id > rj.model_id);
		await jobSucceeded(srv, rj2.metrics.score_job_id);
		for (const r of await answers(srv, trainIds)) {
			assert.equal(r.rm_model_id, rj2.model_id);
			assert.ok(Number.isFinite(r.rm_score));
		}

		// by hand: the older reward model, the eval split only; the newest model's scores still show
		const byHand = await jobSucceeded(srv, await submitJob(srv, 'score', { reward_model_id: rj.model_id, split: 'eval' }));
		assert.equal(byHand.metrics.answers, evals.length);
		assert.equal((await answers(srv, evalIds))[0].rm_model_id, rj2.model_id);
		// a model that is not a reward model is refused when the job runs
		const bad = await waitJob(srv, await submitJob(srv, 'score', { reward_model_id: 1 }), (j) => FINISHED.includes(j.status));
		assert.equal(bad.status, 'failed');
		assert.match(bad.error, /not a reward model/);
		const badParams = await srv.admin.post('/api/train', { kind: 'score', params: { split: 'test' } });
		assert.equal(badParams.status, 400, badParams.text);
	} finally {
		await w.stop();
	}
});
