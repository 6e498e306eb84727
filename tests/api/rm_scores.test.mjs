/*
 * tests/api/rm_scores.test.mjs — reward-model scores beside the human ones,
 * through the HTTP API on a tiny model (tests/lib/tiny_model.mjs): before any
 * reward job no answer has an rm_score; after a reward job the worker runs a
 * score job by itself (server/worker/job.c record_end, job_score.c) and every
 * answer, rated or not, gets a finite rm_score from that reward model in
 * GET /api/prompts/{id}; two answers with the same text to the same prompt
 * (in different groups) get the same score; a second reward job's score job
 * replaces the model the scores come from; ratings.jsonl and pairs.jsonl
 * carry the scores; a score job started by hand takes its parameters, and
 * with unscored scores only the answers the newest model has no score of.  With
 * the likelihood prior (model/trainer.h struct trainer_prior) the stored score
 * is the one the other jobs use: network + prior on the prompts the reward
 * model trained on, the prior alone on every other prompt — checked against
 * the reward job's own figures (which answers, the held-out accuracy) and
 * between two reward models with the same prior, not against values copied
 * from a run.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
		/* the same text scores the same, to float precision: each is run in a
		 * micro-batch of other answers, padded to their length (two forwards
		 * of the prior's language model, whose sums BLAS orders by shape) */
		assert.ok(Math.abs(twins[0].rm_score - twins[1].rm_score) < 1e-4, JSON.stringify(twins));
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
		// unscored: only what the newest reward model has no score of — nothing, then a generate job's answers
		const none = await jobSucceeded(srv, await submitJob(srv, 'score', { unscored: true }));
		assert.equal(none.metrics.reward_model_id, rj2.model_id);
		assert.equal(none.metrics.unscored_only, true);
		assert.equal(none.metrics.answers, 0, 'every answer has the newest model\'s score');
		const before2 = new Set((await answers(srv, trainIds)).map((r) => r.id));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, max_tokens: 8, again: true }));
		const fresh = (await answers(srv, trainIds)).filter((r) => !before2.has(r.id));
		assert.ok(fresh.length > 0 && fresh.every((r) => r.rm_score === null), 'the new answers are unscored');
		const inc = await jobSucceeded(srv, await submitJob(srv, 'score', { unscored: true }));
		assert.equal(inc.metrics.answers, fresh.length, 'the new answers alone');
		for (const r of await answers(srv, [...trainIds, ...evalIds])) {
			assert.equal(r.rm_model_id, rj2.model_id, `answer ${r.id}`);
			assert.ok(Number.isFinite(r.rm_score));
		}
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

/* Pairwise accuracy of the stored scores on the rated answers of prompts ids,
 * as the reward job measures it: every two answers of a group with different
 * human means make a pair, right when the higher one's rm_score is strictly
 * higher.  near = pairs whose two rm_scores are within 1e-4 (a recomputation
 * may order those either way). */
function pairAcc(all, ids) {
	const want = new Set(ids), groups = new Map();
	for (const r of all)
		if (want.has(r.prompt_id) && r.mean_score !== null)
			groups.set(r.group_id, [...(groups.get(r.group_id) || []), r]);
	let pairs = 0, correct = 0, near = 0;
	for (const g of groups.values())
		for (let a = 0; a < g.length; a++)
			for (let b = a + 1; b < g.length; b++) {
				if (Math.abs(g[a].mean_score - g[b].mean_score) < 1e-6) continue;
				const [hi, lo] = g[a].mean_score > g[b].mean_score ? [g[a], g[b]] : [g[b], g[a]];
				pairs++;
				correct += hi.rm_score > lo.rm_score ? 1 : 0;
				near += Math.abs(hi.rm_score - lo.rm_score) < 1e-4 ? 1 : 0;
			}
	return { pairs, correct, near };
}

/* Rewrites the metadata JSON of model id's sidecar (model/checkpoint.h: the
 * 128-byte header, meta_len at byte 56, then head_w[dim], head_b, meta) with
 * edit(meta), as a version written by an older rlhfd would have it. */
function editSidecarMeta(srv, id, edit) {
	const file = path.join(srv.dataDir, 'models', `${id}.bin.rlhfd`);
	const buf = readFileSync(file);
	const dim = buf.readInt32LE(16), len = Number(buf.readBigUInt64LE(56)), at = 128 + 4 * dim + 4;
	const meta = JSON.parse(buf.subarray(at, at + len).toString('utf8'));
	edit(meta);
	const text = Buffer.from(JSON.stringify(meta), 'utf8');
	const out = Buffer.concat([buf.subarray(0, at), text, buf.subarray(at + len)]);
	out.writeBigUInt64LE(BigInt(text.length), 56);
	writeFileSync(file, out);
}

/* Least-squares k with ys ≈ k xs, and the largest |y - k x| relative to the
 * largest |y|. */
function proportional(xs, ys) {
	let xy = 0, xx = 0, big = 0;
	xs.forEach((x, i) => { xy += x * ys[i]; xx += x * x; big = Math.max(big, Math.abs(ys[i])); });
	const k = xy / xx;
	return { k, resid: Math.max(...xs.map((x, i) => Math.abs(ys[i] - k * x))) / big };
}

test('with the likelihood prior, answers to the prompts the reward model trained on are scored network + prior, every other answer by the prior alone', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds, evalIds } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8, split: 'eval' }));
		// answers that take up all or some of their prompt's words (the tiny
		// model's seldom do), for the overlap feature below
		for (const id of evalIds) {
			const text = (await promptDetail(srv, id)).text;
			const r = await srv.admin.post(`/api/prompts/${id}/responses`,
				{ responses: [{ text }, { text: text.split(' ').slice(0, 3).join(' ') }] });
			assert.ok(r.status < 300, r.text);
		}
		await rateAll(await createRater(srv, 'ann'));
		const all = async () => answers(srv, [...trainIds, ...evalIds]);

		// half the train prompts held out (a fixed seed: the same ones in every job below)
		const params = { epochs: 1, heldout_frac: 0.5, seed: 11 };
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', params));
		const prior = rj.metrics.prior, trained = new Set(rj.metrics.train_prompt_ids);
		assert.ok(prior && Number.isInteger(prior.model_id), 'the prior is on by default');
		assert.ok(rj.metrics.heldout_prompt_ids.length > 0 && trained.size > 0, JSON.stringify(rj.metrics));
		const sj = await jobSucceeded(srv, rj.metrics.score_job_id);
		assert.equal(sj.metrics.prior_model_id, prior.model_id, 'the score job attaches the recorded prior');
		// the features the reward job computed are kept for the score job (job_prior.c)
		assert.ok(rj.metrics.prior_features_kept < rj.metrics.answers, JSON.stringify(rj.metrics));
		assert.ok(sj.metrics.prior_features_kept >= rj.metrics.answers,
			`the score job found the reward job's ${rj.metrics.answers} answers' features: ${sj.metrics.prior_features_kept}`);

		// which answers get the prior alone: those of every prompt not in train_prompt_ids
		const s1 = await all();
		const unseen = s1.filter((r) => !trained.has(r.prompt_id)), seen = s1.filter((r) => trained.has(r.prompt_id));
		assert.ok(unseen.some((r) => evalIds.includes(r.prompt_id)), 'eval answers are unseen');
		assert.ok(unseen.some((r) => trainIds.includes(r.prompt_id)), 'so are held-out answers');
		assert.equal(sj.metrics.answers_prior_alone, unseen.length);
		assert.equal(sj.metrics.train_prompts, trained.size);
		for (const r of s1) assert.ok(Number.isFinite(r.rm_score) && r.rm_model_id === rj.model_id, JSON.stringify(r));

		// the stored scores order the held-out pairs as the reward job measured them
		// (its held-out figures are the prior's alone: heldout_acc == prior_heldout_acc)
		const h = pairAcc(s1, rj.metrics.heldout_prompt_ids);
		assert.equal(h.pairs, rj.metrics.heldout_pairs);
		assert.ok(Math.abs(h.correct - rj.metrics.heldout_acc * h.pairs) <= h.near + 1e-6,
			`held-out pairs ordered right by the stored scores ${h.correct}/${h.pairs} (near ties ${h.near}), ` +
			`the reward job's heldout_acc ${rj.metrics.heldout_acc}, network + prior ${rj.metrics.heldout_acc_network}`);

		// a second reward model on the same ratings and split fits the same prior (it
		// does not depend on the network) and differs in its network (warm-started,
		// trained further) and normalisation: the unseen answers' scores are the first
		// model's times one factor, the seen answers' are not
		const rj2 = await jobSucceeded(srv, await submitJob(srv, 'reward', { ...params, epochs: 4 }));
		assert.deepEqual(rj2.metrics.train_prompt_ids, rj.metrics.train_prompt_ids);
		assert.equal(rj2.metrics.prior_features_kept, rj2.metrics.answers, 'the second reward job computes no feature again');
		assert.deepEqual(rj2.metrics.prior.mu, rj.metrics.prior.mu, 'from the same features');
		await jobSucceeded(srv, rj2.metrics.score_job_id);
		const s2 = new Map((await all()).map((r) => [r.id, r]));
		for (const r of s1) assert.equal(s2.get(r.id).rm_model_id, rj2.model_id);
		const pu = proportional(unseen.map((r) => r.rm_score), unseen.map((r) => s2.get(r.id).rm_score));
		assert.ok(pu.k > 0 && pu.resid < 1e-5, `unseen answers: the prior alone, rescaled (${JSON.stringify(pu)})`);
		const ps = seen.map((r) => s2.get(r.id).rm_score - pu.k * r.rm_score);
		assert.ok(Math.max(...ps.map(Math.abs)) > 1e-4 * Math.max(...seen.map((r) => Math.abs(s2.get(r.id).rm_score))),
			'seen answers: the networks differ, so do their scores beyond the factor');

		// a prior recorded before the PMI and length features (2026-12-05: two
		// weights), before the PMI's sum and rep-4 (five), before the prompt
		// overlap (seven) or before recognition (eight) still attaches, and scores the unseen answers as the same
		// prior with the other weights 0 does; one of another size is refused
		const scoreUnseen = async () => {
			await jobSucceeded(srv, await submitJob(srv, 'score', { reward_model_id: rj2.model_id }));
			const m = new Map((await all()).map((r) => [r.id, r.rm_score]));
			return unseen.map((r) => m.get(r.id));
		};
		const slice = (n) => editSidecarMeta(srv, rj2.model_id, (m) => {
			for (const k of ['w', 'mu', 'sd', 'features']) m.prior[k] = m.prior[k].slice(0, n);
		});
		assert.equal(rj2.metrics.prior.w.length, 9);
		assert.equal(rj2.metrics.prior.features[8], 'recognition');
		// recognition, the log-posterior of an answer's own prompt against its
		// rivals, is at most 0: with weight 1 (mu 0, sd 1) against weight 0 each
		// unseen answer's score moves down or not at all, some by more than a
		// little; then a prior cut to eight features scores as the weight 0 does
		editSidecarMeta(srv, rj2.model_id, (m) => { m.prior.w[8] = 1; m.prior.mu[8] = 0; m.prior.sd[8] = 1; });
		const withRec = await scoreUnseen();
		editSidecarMeta(srv, rj2.model_id, (m) => { m.prior.w[8] = 0; });
		const noRec = await scoreUnseen();
		const moved = withRec.map((x, i) => x - noRec[i]);
		assert.ok(moved.every((d) => d <= 1e-5) && moved.some((d) => d < -1e-3), `recognition moved ${moved}`);
		slice(8);
		const eight = await scoreUnseen();
		// (1e-4: without rivals the worker's kept features start afresh, and the
		// features computed in other micro-batches differ in the last bits —
		// 1.1e-5 in the sanitizer build; recognition moved scores by > 1e-3 above)
		for (let i = 0; i < eight.length; i++)
			assert.ok(Math.abs(eight[i] - noRec[i]) < 1e-4, `8 features, answer ${unseen[i].id}: ${eight[i]} vs ${noRec[i]}`);
		// the overlap's word counts, over every prompt in the database, are in the
		// sidecar (not in the job's metrics): the chat template's words are in every
		// prompt, a question's own words in fewer
		const listed = (await srv.admin.get('/api/prompts?limit=1000')).json.prompts;
		let overlap;
		editSidecarMeta(srv, rj2.model_id, (m) => { overlap = m.prior.overlap; });
		assert.ok(!('overlap' in rj2.metrics.prior));
		assert.equal(overlap.prompts, listed.length);
		const counts = Object.values(overlap.df);
		assert.ok(counts.every((c) => Number.isInteger(c) && c >= 1 && c <= listed.length), JSON.stringify(overlap));
		assert.ok(counts.some((c) => c === listed.length) && counts.some((c) => c < listed.length), JSON.stringify(overlap));
		const firstWord = listed[0].text.toLowerCase().match(/[a-z0-9]+/)[0];
		assert.ok(overlap.df[firstWord] >= 1, `"${firstWord}" of "${listed[0].text}" counted`);
		// a count past the prompts counted is refused, naming the word
		editSidecarMeta(srv, rj2.model_id, (m) => { m.prior.overlap.df[firstWord] = listed.length + 1; });
		const badCount = await waitJob(srv, await submitJob(srv, 'score', { reward_model_id: rj2.model_id }),
			(j) => FINISHED.includes(j.status));
		assert.equal(badCount.status, 'failed');
		assert.match(badCount.error, new RegExp(`its prior counts the word "${firstWord}" in more prompts of ${listed.length}`));
		editSidecarMeta(srv, rj2.model_id, (m) => { m.prior.overlap = overlap; });
		// the overlap as computed here from the texts and the recorded counts: with
		// weight 1 (mu 0, sd 1) against weight 0, each unseen answer's score moves by
		// its overlap, times the model's one scale; then a prior cut to seven
		// features scores as the weight 0 does
		const N = overlap.prompts, idf = (w) => Math.log((N + 1) / ((overlap.df[w] ?? 0) + 1));
		const words = (t) => new Set(t.toLowerCase().match(/[a-z0-9\u0080-\uffff]+/g) ?? []);
		const ptext = new Map(listed.map((p) => [p.id, p.text]));
		const ov = unseen.map((r) => {
			const P = words(ptext.get(r.prompt_id)), A = words(r.text);
			let all = 0, found = 0;
			for (const w of P) { all += idf(w); if (A.has(w)) found += idf(w); }
			return all > 0 ? found / all : 0;
		});
		assert.ok(ov.some((x) => x > 0) && ov.some((x) => x < 1), `overlaps ${ov}`);
		editSidecarMeta(srv, rj2.model_id, (m) => { m.prior.w[7] = 1; m.prior.mu[7] = 0; m.prior.sd[7] = 1; });
		const withOverlap = await scoreUnseen();
		editSidecarMeta(srv, rj2.model_id, (m) => { m.prior.w[7] = 0; });
		const noOverlap = await scoreUnseen();
		const po = proportional(ov, withOverlap.map((x, i) => x - noOverlap[i]));
		assert.ok(po.k > 0 && po.resid < 1e-4, `score moved by the overlap computed here (${JSON.stringify(po)})`);
		slice(7);
		const seven = await scoreUnseen();
		for (let i = 0; i < seven.length; i++)
			assert.ok(Math.abs(seven[i] - noOverlap[i]) < 1e-5, `7 features, answer ${unseen[i].id}: ${seven[i]} vs ${noOverlap[i]}`);
		for (let i = 0; i < unseen.length; i++) s2.get(unseen[i].id).rm_score = seven[i];
		for (const [from, what] of [[5, 'PMI sum and rep-4'], [2, 'PMI and length']]) {
			editSidecarMeta(srv, rj2.model_id, (m) => { for (let i = from; i < m.prior.w.length; i++) m.prior.w[i] = 0; });
			const zeroed = await scoreUnseen();
			slice(from);
			const fewer = await scoreUnseen();
			assert.ok(zeroed.some((x, i) => Math.abs(x - s2.get(unseen[i].id).rm_score) > 1e-3),
				`the ${what} weights count in the scores of the ${from === 5 ? 'seven' : 'five'}-feature prior`);
			for (let i = 0; i < fewer.length; i++)
				assert.ok(Math.abs(fewer[i] - zeroed[i]) < 1e-5, `${from} features, answer ${unseen[i].id}: ${fewer[i]} vs ${zeroed[i]}`);
			// the next case's reference: the prior as it now scores
			for (let i = 0; i < unseen.length; i++) s2.get(unseen[i].id).rm_score = fewer[i];
		}
		editSidecarMeta(srv, rj2.model_id, (m) => { for (const k of ['w', 'mu', 'sd']) m.prior[k] = m.prior[k].slice(0, 1); });
		const one = await waitJob(srv, await submitJob(srv, 'score', { reward_model_id: rj2.model_id }),
			(j) => FINISHED.includes(j.status));
		assert.equal(one.status, 'failed');
		assert.match(one.error, /"prior" is not \{model_id, w, b, mu, sd\} with 2 to 9 features/);

		// prior: false — the network scores every answer, held-out ones included, and
		// orders the held-out pairs as the reward job measured its network
		const np = await jobSucceeded(srv, await submitJob(srv, 'reward', { ...params, prior: false, warm_start: false }));
		assert.ok(!('prior' in np.metrics));
		const nsj = await jobSucceeded(srv, np.metrics.score_job_id);
		assert.equal(nsj.metrics.prior_model_id, null);
		assert.equal(nsj.metrics.answers_prior_alone, 0);
		const s3 = await all();
		const h3 = pairAcc(s3, np.metrics.heldout_prompt_ids);
		assert.equal(h3.pairs, np.metrics.heldout_pairs);
		assert.ok(Math.abs(h3.correct - np.metrics.heldout_acc * h3.pairs) <= h3.near + 1e-6,
			`${h3.correct}/${h3.pairs} (near ${h3.near}) vs heldout_acc ${np.metrics.heldout_acc}`);
		const pn = proportional(unseen.map((r) => r.rm_score), unseen.map((r) => s3.find((x) => x.id === r.id).rm_score));
		assert.ok(pn.resid > 1e-2, `without the prior the unseen answers are scored otherwise (${JSON.stringify(pn)})`);
	} finally {
		await w.stop();
	}
});
