/*
 * tests/e2e/learning.test.mjs — the end-to-end learning test ("Close the
 * loop"): the whole human-feedback loop through the real binary and its HTTP
 * API, with two rubric raters standing in for people.
 *
 *   1. `rlhfd demo init --data <fresh dir>`: the demo model (from the build
 *      cache, build/demo — `make test` and `make test-e2e` build it first), the demo prompts
 *      (train / eval splits) and answers waiting to be rated, plus
 *      SETTINGS.extra_groups more groups of answers to every train prompt;
 *   2. `rlhfd serve` on a free port; an admin creates two raters;
 *   3. two `rlhfd rubric-rate` at once rate the waiting answers through the
 *      API, each taking whatever GET /api/tasks/next hands it, as people
 *      are: imperfect (each moves a score by one with probability
 *      SETTINGS.noise, its own seed) and of two tastes (server/demo/rubric.h)
 *      — "rubric", the rubric's own ladder, and "thorough", who agrees on
 *      what is wrong but likes full sentences and detail (the bare right
 *      answer 4 and the right answer with more text 5, ...); with
 *      ratings_per_group 1 each group is rated by one of them (a live lease
 *      keeps it from the other), so the budget of training ratings is what
 *      one rater's was;
 *   4. PUT /api/config turns auto-training on: the worker itself queues
 *      reward model → the policy step (auto_train.rl_kind, the default
 *      "best": the reference fine-tuned on the answers people rated best,
 *      with documents of the demo's pre-training text replayed beside them) →
 *      new answers from the new policy; each round the two raters rate
 *      those answers, which turns the loop again; a policy the promotion gate
 *      kept as a candidate becomes active when the raters' scores of its
 *      answers beat the active model's on the prompts it was trained on and
 *      are no worse on those neither was (people's verdict, checked when the
 *      loop next looks: the test lets it look once after each round's
 *      ratings, before measuring);
 *   5. the measure: answers to the held-out eval prompts (never trained on:
 *      every training job reads the train split only; they ask about items
 *      the SFT set never taught — server/demo/demo_world.h — in two parts,
 *      reported apart: (a) items the train split asks about in other words,
 *      (b) items only pre-training saw, which no train prompt names)
 *      generated through POST /api/generate with the same seed and sampling
 *      settings for the SFT model and for each round's policy, rated by the
 *      first rater alone, without noise, in the default taste (the ground
 *      truth), through the API, read back per model through
 *      GET /api/prompts/{id}.  No decision of the loop reads these ratings:
 *      people's verdict leaves the eval split out (db/versions.h).
 *
 * Five tests: the loop itself (every round is reward -> the policy step ->
 * generate, or the policy step refused by its gate; the promoted policy
 * active and answering, the reference the SFT model), the active model never worse than the SFT model
 * on the eval prompts, then the issue's floors — the active model's rubric
 * mean on eval part a at least 0.6 (of 5) and on part b at least 0.25 above
 * the SFT model's, and the latest reward model's pairwise accuracy held out
 * by prompt, cross-validated over every rated prompt (GET /api/models
 * metrics cv_acc), at least 0.72.  The reward job's held-out split is
 * printed too, but it flatters: the policy never trains on its prompts, so
 * their answers stay the SFT model's, further apart in quality and easier to
 * order than the answers to the prompts the policy learns (the final ratings
 * of seeds 40-43: 0.789, 0.788, 0.768 and 0.699 on the split against 0.716,
 * 0.736, 0.739 and 0.729 over random splits of the same size, the split's
 * answers rated 0.4-0.7 points lower; README "Cross-validated accuracy").  The loop test itself also asserts
 * that the training ratings stay within the issue's 3,000.  The
 * learning curve (eval rubric mean, whole and per part, train rubric mean,
 * the ratings each rater gave, reward-model accuracy, KL, time, per round) is
 * printed as TAP diagnostics
 * (shown by `make test`, whole in build/test-logs/learning.log).
 *
 * Between rounds the test switches auto-training off while it measures, so
 * the rating of eval answers (which count as ratings) never starts a round
 * early; the loop itself — which jobs run, on which data, in which order —
 * is the worker's.
 *
 * RLHFD_E2E_SETTINGS (a JSON object) overrides fields of SETTINGS below for
 * tuning runs (auto_train and eval are merged key by key); RLHFD_E2E_KEEP=1
 * keeps the data directory for a look at the answers.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRater, exportedRatings } from '../lib/fixtures.mjs';
import { demoServer, jobs, now, ok, pairedStats, promptIds, rubricRate, sleep, waitJob as waitJobFor } from '../lib/e2e.mjs';

const waitJob = (srv, id) => waitJobFor(srv, id, SETTINGS.job_timeout_s);

/*
 * Default settings: the jobs of the loop run with {} params, as a user's
 * would.  (Until 2026-12-03 this test ran reward lr 1e-4 x 5 epochs and RLOO
 * lr 2e-5 / KL 0.2, settings chosen on this test's own eval split, and the
 * reward model's accuracy was held out by answer group, so sibling groups of
 * the same prompt — which repeat the same answer texts — were in training.)
 * Held out by prompt, the demo reward model measured 0.43-0.51 after round 1
 * with the tuned settings and the defaults alike (lr 3e-4 / 5e-5, 2-5 epochs):
 * it learns the answers to its training prompts, not what makes an answer
 * good on a prompt it has not seen; so the RL gate refused it and the loop
 * waited for more ratings.  The loop's policy step is now best, which takes
 * the raters' scores as targets and so does not wait for the reward model.
 */
const SETTINGS = {
	/* the loop's seeds: the extra groups' sampling, the reward model's
	 * held-out prompts and shuffling, the RL job's sampling (make bench-loop
	 * runs seeds 1, 2, 3) */
	seed: 1,
	rounds: 3,
	/* groups of answers per train prompt beyond demo init's one, before round
	 * 1.  One more (2,162 round-0 ratings) with 64 prompts a round instead of
	 * 128 (2,795-2,843 in all) was measured on the development split
	 * (2026-12-05, 8 runs of seeds 1-6): the final active model +0.57 on
	 * average where these settings gave +0.53 over 12 runs, round 1's policy
	 * +0.52 where +0.48, the latest reward model 0.69 in both — within the
	 * runs' spread (0.27-0.71) — and round 1's reward job took 36-42 s of a
	 * 60-68 s round (23-24 s with one pass of its network): left at 0 */
	extra_groups: 0,
	/* each rater moves a training score by one with this probability, as
	 * people do (the eval measure is rated without noise) */
	noise: 0.1,
	/* the second rater's taste (server/demo/rubric.h); the first rates in
	 * "default", the rubric's own ladder */
	second_taste: 'thorough',
	auto_train: {
		reward_every_n_ratings: 64,
		generate_k: 4,
		/* a new group from each round's policy for this many train prompts:
		 * 311 x 4 from demo init + 3 rounds x 128 x 4 = 2780 training ratings,
		 * within the issue's 3,000 */
		generate_prompts: 128,
	},
	/* how every model is measured on the eval split: the same for all, k
	 * answers per prompt from each of `jobs` generate jobs (seeds seed,
	 * seed + 1, ...; a group holds at most 16).  At 4 answers per prompt two
	 * thirds of the variance of a prompt's paired change was the sampler's,
	 * not the prompt's (on the development split of tests/bench/dev.mjs, a
	 * kept run of seed 1: part a +-0.276 at 4 answers, +-0.242 at 8, +-0.220
	 * at 16; part b +-0.288, +-0.251, +-0.217).  64 since the eighth session
	 * of 2026-12-06: the sampler's share of a run's rise, which the runs'
	 * spread over seeds was mostly made of, halves again (pairedRise) */
	eval: { k: 16, jobs: 4, temperature: 1.0, top_p: 0.95, max_tokens: 96, seed: 20240601 },
	job_timeout_s: 1200,
};
if (process.env.RLHFD_E2E_SETTINGS) {
	const o = JSON.parse(process.env.RLHFD_E2E_SETTINGS);
	for (const [k, v] of Object.entries(o)) {
		SETTINGS[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...SETTINGS[k], ...v } : v;
	}
}

/*
 * Waits for one turn of the auto-training loop that starts after job id
 * `after`: a reward job, the RL job it queued, the generate job that one
 * queued — each must succeed.  Returns the three jobs.  When the RL gate
 * refused the reward model, [reward, null, the generate job the loop queued
 * for raters while it waits for ratings (of the active model), or null].
 */
async function waitAutoRound(srv, after) {
	const deadline = now() + SETTINGS.job_timeout_s;
	const want = ['reward', RL_KIND, 'generate'];
	for (;;) {
		// the loop's own jobs (params.auto): a job the worker queues beside it is not one
		const list = (await jobs(srv)).filter((j) => j.id > after && j.params && j.params.auto).sort((a, b) => a.id - b.id);
		for (const j of list)
			assert.ok(!(j.status === 'failed' || j.status === 'cancelled'),
				`auto-training job ${j.id} (${j.kind}) ${j.status}: ${j.error}`);
		if (list.length >= 1 && list[0].kind === 'reward' && list[0].status === 'succeeded') {
			/* the RL gate: no RL on a reward model that is not credible */
			const rw = await ok(await srv.admin.get(`/api/jobs/${list[0].id}`), `GET /api/jobs/${list[0].id}`);
			const wait = rw.metrics.auto_next;
			if (wait && !wait.generate) return [rw, null, null];
			if (wait) {
				assert.equal(list.length >= 2 && list[1].id, wait.generate, 'the loop\'s next job is the generate it names');
				const gen = await waitJob(srv, wait.generate);
				assert.equal(gen.status, 'succeeded', `generate job ${gen.id}: ${gen.error}`);
				assert.equal(gen.params.again, true, 'the waiting loop asks for answers to prompts answered before too');
				return [rw, null, gen];
			}
		}
		if (list.length >= 3 && list.slice(0, 3).every((j) => j.status === 'succeeded')) {
			assert.deepEqual(list.slice(0, 3).map((j) => j.kind), want, 'the jobs of one turn of the loop');
			const full = [];
			for (const j of list.slice(0, 3))
				full.push(await ok(await srv.admin.get(`/api/jobs/${j.id}`), `GET /api/jobs/${j.id}`));
			return full;
		}
		assert.ok(now() < deadline, `the auto-training loop did not turn within ${SETTINGS.job_timeout_s} s: ` +
			JSON.stringify(list.map((j) => [j.id, j.kind, j.status])));
		await sleep(300);
	}
}

/* the loop's policy step: the configured default unless SETTINGS says */
let RL_KIND = null;

/*
 * Lets the loop look at the ratings once without starting a round: people's
 * verdict (promotion of a candidate, rollback of the active policy) runs when
 * the idle worker checks the loop, every AUTO_CHECK_SEC (2 s,
 * server/worker/worker.c) once the queue is empty; with
 * reward_every_n_ratings out of reach no round starts.  A version the verdict
 * activates may queue a score job for its spot checks (not a job of the
 * loop).  Returns the active model after the look.
 */
async function verdictLook(srv) {
	const idle = async () => {
		const deadline = now() + SETTINGS.job_timeout_s;
		while ((await jobs(srv)).some((j) => j.status === 'queued' || j.status === 'running')) {
			assert.ok(now() < deadline, 'the worker did not go idle');
			await sleep(300);
		}
	};
	await idle();
	const last = Math.max(0, ...(await jobs(srv)).map((j) => j.id));
	const every = SETTINGS.auto_train.reward_every_n_ratings;
	await setAuto(srv, { enabled: true, reward_every_n_ratings: 1000000 });
	await sleep(5000);
	await setAuto(srv, { enabled: false, reward_every_n_ratings: every });
	const started = (await jobs(srv)).filter((j) => j.id > last && j.params && j.params.auto);
	assert.equal(started.length, 0, `no round started by the look: ${JSON.stringify(started.map((j) => [j.id, j.kind]))}`);
	await idle();
	return (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models.find((x) => x.active);
}

async function setAuto(srv, fields) {
	const c = await ok(await srv.admin.put('/api/config', { auto_train: fields }), 'PUT /api/config');
	for (const [k, v] of Object.entries(fields))
		assert.deepEqual(c.auto_train[k], v, `config auto_train.${k}`);
}

/* Sums of scores, for a mean and its normal 95 % interval over the answers. */
const tally = () => ({ sum: 0, sq: 0, n: 0 });
function tallyAdd(t, x) {
	t.sum += x;
	t.sq += x * x;
	t.n++;
}
function tallyMean(t) {
	const mean = t.n ? t.sum / t.n : NaN;
	const half = t.n ? 1.96 * Math.sqrt(Math.max(0, t.sq / t.n - mean ** 2) / t.n) : NaN;
	return { mean, half, n: t.n };
}

/*
 * The rubric mean of a model on the eval prompts: K answers per eval prompt
 * from that model (one generate job, fixed seed and sampling), rated by the
 * rubric rater through the API, read back per answer.  Over the whole eval
 * split and per part (prompt meta.eval_part, server/demo/demo_world.h):
 * a = held-out phrasings of items the train split asks about, b = held-out
 * items only pre-training saw (no SFT pair, rated or RL prompt names them).
 */
async function measure(srv, rater, evalIds, modelId) {
	/* the same model, seed and sampling give the same answers, and the
	 * noiseless rubric the same scores: a model is measured once */
	if (measured.has(modelId))
		return { ...measured.get(modelId), sec: 0 };
	const t0 = now();
	const e = SETTINGS.eval;
	for (let j = 0; j < e.jobs; j++) {
		const r = await ok(await srv.admin.post('/api/generate', {
			prompt_ids: evalIds, model_id: modelId, k: e.k, temperature: e.temperature,
			top_p: e.top_p, max_tokens: e.max_tokens, seed: e.seed + j, distinct: false,
		}), 'POST /api/generate (eval)', 202);
		const job = await waitJob(srv, r.job_id);
		assert.equal(job.metrics.groups, evalIds.length, 'one group per eval prompt');
	}
	const rated = await rubricRate(srv, rater.token);
	assert.equal(rated.tasks, e.jobs * evalIds.length, 'the rater found exactly the eval groups waiting');
	/* read back: the newest e.jobs groups of this model on each eval prompt */
	const all = tally(), part = { a: tally(), b: tally() };
	const fam = {}, byPrompt = new Map();
	for (const id of evalIds) {
		const p = await ok(await srv.admin.get(`/api/prompts/${id}`), `GET /api/prompts/${id}`);
		assert.equal(p.split, 'eval');
		const mine = p.responses.filter((x) => x.model_id === modelId);
		const gs = [...new Set(mine.map((x) => x.group_id))].sort((x, y) => y - x).slice(0, e.jobs);
		const answers = mine.filter((x) => gs.includes(x.group_id));
		assert.equal(answers.length, e.k * e.jobs, `prompt ${id}: ${e.k * e.jobs} answers from model ${modelId}`);
		const f = (p.meta && p.meta.family) || 'other';
		const ep = p.meta && p.meta.eval_part;
		assert.ok(ep === 'a' || ep === 'b', `prompt ${id}: meta.eval_part ${JSON.stringify(ep)}, not a or b`);
		fam[f] = fam[f] || { sum: 0, n: 0 };
		/* the prompt's mean and its sampling variance (the variance of
		 * the mean of its answers: the sample variance over their number) */
		const mu = answers.reduce((s, a) => s + a.mean_score, 0) / answers.length;
		const se2 = answers.reduce((s, a) => s + (a.mean_score - mu) ** 2, 0) / (answers.length - 1) / answers.length;
		byPrompt.set(id, { part: ep, mean: mu, se2 });
		for (const a of answers) {
			assert.equal(typeof a.mean_score, 'number', `answer ${a.id} rated`);
			tallyAdd(all, a.mean_score);
			tallyAdd(part[ep], a.mean_score);
			fam[f].sum += a.mean_score;
			fam[f].n++;
		}
	}
	assert.ok(part.a.n > 0 && part.b.n > 0, `answers in eval part a: ${part.a.n}, part b: ${part.b.n}`);
	const families = Object.entries(fam).map(([f, v]) => `${f} ${(v.sum / v.n).toFixed(2)}`).join(', ');
	const { mean, half, n } = tallyMean(all);
	const m = { mean, half, n, a: tallyMean(part.a), b: tallyMean(part.b), families, byPrompt, sec: now() - t0 };
	measured.set(modelId, m);
	return m;
}
const measured = new Map();

/*
 * The rise of measure m over measure m0 on one eval part with two 95 %
 * intervals: "+0.412 ± 0.215 (36 prompts; ± 0.061 on these prompts)".  The
 * first, paired by prompt (pairedStats), is how far the rise on other
 * prompts like these could be: each prompt is a draw from the items.  The
 * second holds the prompts fixed, the eval being the one the issue's floors
 * are set on: what is left is the sampler's — which k answers each model
 * happened to write — the square root of the sum over prompts of both
 * means' sampling variances, over their number (normal).  How much a run
 * depends on its seed, the raters' noise and timing is the spread over runs
 * (make bench-loop, tests/bench/loop_summary.mjs).
 */
function riseOf(m0, m, which) {
	const ids = [...m.byPrompt].filter(([, v]) => v.part === which).map(([id]) => id);
	const { mean, half } = pairedStats(ids.map((id) => m.byPrompt.get(id).mean - m0.byPrompt.get(id).mean));
	const se2 = ids.reduce((s, id) => s + m.byPrompt.get(id).se2 + m0.byPrompt.get(id).se2, 0);
	return { n: ids.length, mean, half, fixedHalf: 1.96 * Math.sqrt(se2) / ids.length };
}
function pairedRise(m0, m, which) {
	const r = riseOf(m0, m, which);
	return `${r.mean >= 0 ? '+' : ''}${r.mean.toFixed(3)} ± ${r.half.toFixed(3)} (${r.n} prompts; ` +
		`± ${r.fixedHalf.toFixed(3)} on these prompts)`;
}

const f3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : String(x));
/* a measure's mean with its 95 % interval: "3.412 ± 0.101" */
const pm = (m) => (m ? `${f3(m.mean)} ± ${f3(m.half)}` : 'null');
/* the two eval parts of a measure, for the per-round diagnostics */
const parts = (m) => `part a ${pm(m.a)} (${m.a.n}), part b ${pm(m.b)} (${m.b.n})`;

/*
 * One round's training ratings: both raters at once, each until nothing is
 * left for it (each with its own noise seed), as two people rating side by
 * side.  Returns { tasks, ratings, mean (over both), by: [first, second] }.
 */
async function rateBoth(srv, raters, round) {
	const seed = 100 * SETTINGS.seed + round;
	const by = await Promise.all([
		rubricRate(srv, raters[0].token, { noise: SETTINGS.noise, seed }),
		rubricRate(srv, raters[1].token, { noise: SETTINGS.noise, seed: seed + 50, taste: SETTINGS.second_taste }),
	]);
	const ratings = by[0].ratings + by[1].ratings;
	return {
		tasks: by[0].tasks + by[1].tasks, ratings, by,
		mean: ratings ? (by[0].mean * by[0].ratings + by[1].mean * by[1].ratings) / ratings : NaN,
	};
}

/*
 * No group was rated by both raters (ratings_per_group 1: a group's live
 * lease keeps it from the other rater): in the ratings export each group has
 * one rater; with n, the export holds exactly n ratings.
 */
async function assertOneRaterPerGroup(srv, n) {
	const rows = await exportedRatings(srv);
	if (n !== undefined) assert.equal(rows.length, n, 'the ratings saved are the ratings the raters gave');
	const raterOf = new Map();
	for (const r of rows) {
		const seen = raterOf.get(r.group_id);
		assert.ok(!seen || seen === r.rater, `group ${r.group_id} rated by both ${seen} and ${r.rater}`);
		raterOf.set(r.group_id, r.rater);
	}
}

/* "rubric 612 (mean 3.412), thorough 632 (mean 3.501)" */
/* a reward job's cross-validated accuracy (model/trainer.h cv_acc) */
const cvText = (m) => `cross-validated ${f3(m.cv_acc)} [${f3(m.cv_lo)}, ${f3(m.cv_hi)}] on ${m.cv_pairs} pairs`;
const byRater = (r) => `rubric ${r.by[0].ratings} (mean ${f3(r.by[0].mean)}), ` +
	`${SETTINGS.second_taste} ${r.by[1].ratings} (mean ${f3(r.by[1].mean)})`;

/* What the loop test measured, for the two threshold tests after it. */
let result = null;

test('the loop turns through the API: demo init, rubric rater, auto-training rounds, eval per round',
	{ timeout: 30 * 60 * 1000 }, async (t) => {
		const T0 = now();
		const world = await demoServer();
		t.after(() => world.stop());
		const { srv, sft, initSec } = world;
		/* the eval measure is the first rater's, noiseless, in the default taste */
		const rater = await createRater(srv, 'rubric');
		const second = await createRater(srv, SETTINGS.second_taste);
		const raters = [rater, second];
		assert.equal(sft.kind, 'sft', 'the active demo model is the instruction-tuned one');

		const evalIds = await promptIds(srv, 'eval');
		assert.ok(evalIds.length >= 20, `eval prompts: ${evalIds.length}`);

		/* the loop's settings, auto-training still off */
		await setAuto(srv, { ...SETTINGS.auto_train, enabled: false,
			reward_params: { ...SETTINGS.auto_train.reward_params, seed: SETTINGS.seed },
			rl_params: { ...SETTINGS.auto_train.rl_params, seed: SETTINGS.seed } });
		RL_KIND = (await ok(await srv.admin.get('/api/config'), 'GET /api/config')).auto_train.rl_kind;
		t.diagnostic(`the loop's policy step: ${RL_KIND}`);

		/* round 0: rate demo init's answers, and SETTINGS.extra_groups more
		 * groups of answers to every train prompt (as an admin asks for more
		 * samples: POST /api/generate with other seeds); measure the SFT model */
		let ti = now();
		const trainIds = await promptIds(srv, 'train');
		for (let g = 0; g < SETTINGS.extra_groups; g++) {
			const r = await ok(await srv.admin.post('/api/generate', {
				prompt_ids: trainIds, k: SETTINGS.auto_train.generate_k, seed: 1000 * SETTINGS.seed + g,
			}), 'POST /api/generate (extra groups)', 202);
			const job = await waitJob(srv, r.job_id);
			assert.equal(job.metrics.groups, trainIds.length, 'one more group per train prompt');
		}
		const first = await rateBoth(srv, raters, 0);
		assert.ok(first.ratings >= SETTINGS.auto_train.reward_every_n_ratings,
			`demo init left ${first.ratings} answers to rate`);
		await assertOneRaterPerGroup(srv, first.ratings);
		let trainRatings = first.ratings;
		const base = await measure(srv, rater, evalIds, sft.id);
		const curve = [{
			round: 0, model: sft.id, train_mean: first.mean, train_ratings: first.ratings,
			by: first.by.map((x) => x.ratings),
			eval_mean: base.mean, eval_half: base.half, evalA: base.a, evalB: base.b, measure: base,
			rm_acc: null, kl: null, sec: now() - ti, gate: '',
		}];
		t.diagnostic(`round 0: SFT model ${sft.id}: ${first.ratings} train ratings (mean ${f3(first.mean)}; ${byRater(first)}), ` +
			`eval rubric mean ${f3(base.mean)} over ${base.n} answers [${base.families}]; ${parts(base)} ` +
			`(measure ${base.sec.toFixed(1)} s)`);

		let lastJob = 0, activeId = sft.id;
		for (let round = 1; round <= SETTINGS.rounds; round++) {
			lastJob = Math.max(0, ...(await jobs(srv)).map((j) => j.id));
			ti = now();
			await setAuto(srv, { enabled: true });
			const [rw, rl, gen] = await waitAutoRound(srv, lastJob);
			await setAuto(srv, { enabled: false });
			const tLoop = now() - ti;
			if (!rl) {
				t.diagnostic(`round ${round}: reward ${rw.id} (held-out acc ${f3(rw.metrics.heldout_acc)} ` +
					`[${f3(rw.metrics.heldout_lo)}, ${f3(rw.metrics.heldout_hi)}] on ${rw.metrics.heldout_pairs} pairs, ` +
					`${cvText(rw.metrics)}): ` +
					`RL refused: ${rw.metrics.auto_next.reason}`);
				/* the loop waits for ratings: of the answers it asked the active model for */
				let rated = null;
				if (gen) {
					assert.equal(gen.metrics.model_id, activeId, 'the waiting loop\'s answers come from the active model');
					rated = await rateBoth(srv, raters, round);
					assert.equal(rated.tasks, gen.metrics.groups, `the raters rated the new answers (${byRater(rated)})`);
					trainRatings += rated.ratings;
					t.diagnostic(`round ${round}: waiting for ratings: ${gen.metrics.groups} groups more from model ` +
						`${activeId} (generate ${gen.id}); ${rated.ratings} train ratings: ${byRater(rated)}`);
				}
				const m = await measure(srv, rater, evalIds, activeId);
				curve.push({ round, model: activeId, train_mean: rated ? rated.mean : null,
					train_ratings: rated ? rated.ratings : null, by: rated ? rated.by.map((x) => x.ratings) : null,
					eval_mean: m.mean, eval_half: m.half,
					evalA: m.a, evalB: m.b, measure: m,
					rm_acc: rw.metrics.heldout_acc, rm_lo: rw.metrics.heldout_lo, rm_hi: rw.metrics.heldout_hi,
					rm_cv: rw.metrics.cv_acc, rm_cv_lo: rw.metrics.cv_lo, rm_cv_hi: rw.metrics.cv_hi,
					rm_ratings: rw.metrics.ratings, gate: 'RL refused', kl: null, sec: now() - ti });
				continue;
			}
			assert.ok(rl.model_id, `the ${rl.kind} job made a policy`);
			assert.equal(rl.metrics.ref_model_id, sft.id, 'the reference is the SFT model');
			assert.equal(gen.metrics.model_id, rl.model_id, 'the new answers come from the new policy');
			/* the promotion gate decides whether the new policy replaces the active one */
			const promo = rl.metrics.promotion || {};
			assert.ok(['promoted', 'candidate'].includes(promo.decision), `promotion decision: ${JSON.stringify(promo)}`);
			/* best replays the demo's pre-training text, which demo init stored with the models */
			if (rl.kind === 'best')
				assert.ok(rl.metrics.ptx_documents > 0 && rl.metrics.ptx_tokens > 0,
					`best ${rl.id} replayed pre-training text: ${rl.metrics.ptx_documents} documents`);
			const active = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models
				.find((x) => x.active);
			if (promo.decision === 'promoted') assert.equal(active && active.id, rl.model_id, 'the promoted policy is active');
			else assert.equal(active && active.id, activeId, `a candidate leaves model ${activeId} active`);
			activeId = active.id;
			t.diagnostic(`round ${round}: promotion gate: ${promo.decision} (win rate ${f3(promo.win_rate)} ` +
				`[${f3(promo.win_lo)}, ${f3(promo.win_hi)}] over ${promo.answers} answers, distinct ${f3(promo.distinct)} ` +
				`vs ${f3(promo.distinct_parent)}, KL ${f3(promo.kl)})${(promo.reasons || []).map((r) => `; ${r}`).join('')}`);
			const rated = await rateBoth(srv, raters, round);
			/* every new group rated, by one rater only */
			assert.equal(rated.tasks, gen.metrics.groups, `the raters rated the new answers (${byRater(rated)})`);
			trainRatings += rated.ratings;
			t.diagnostic(`round ${round}: ${rated.ratings} train ratings: ${byRater(rated)}`);
			/* people's verdict on the new policy's answers */
			const after = await verdictLook(srv);
			const mine = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models
				.find((x) => x.id === rl.model_id);
			const verdict = mine && mine.metrics && mine.metrics.verdict;
			const people = verdict && verdict.decision === 'promoted' ? verdict : null;
			if (people) assert.equal(after.id, rl.model_id, 'the candidate people promoted is active');
			else if (verdict) assert.equal(after.id, activeId, `a candidate people kept leaves model ${activeId} active`);
			/* every new answer rated: people judged the candidate, at the latest at
			 * their final look (unless the active policy was rolled back) */
			if (promo.decision === 'candidate' && promo.sound !== false && [activeId, rl.model_id].includes(after.id))
				assert.ok(verdict && (verdict.look === 'final' || verdict.decision === 'promoted'),
					`people's verdict on candidate ${rl.model_id}: ${JSON.stringify(verdict)}`);
			if (verdict)
				t.diagnostic(`round ${round}: people's verdict (${verdict.look} look, level ${verdict.level}${verdict.rm_leans ? '' : ', the reward model not leaning its way'}): ` +
					`candidate ${rl.model_id} ${verdict.decision} over model ${verdict.over} ` +
					`(better on ${verdict.better}, worse on ${verdict.worse}, tied on ${verdict.ties} of the prompts it was trained on; ` +
					`${verdict.test || "sign"} test p = ${f3(verdict.p)}; on the ${verdict.unseen.prompts} prompts neither was trained on ` +
					`${f3(verdict.unseen.mean)}, 95 % lower bound ${f3(verdict.unseen.lo)})`);
			activeId = after.id;
			const m = await measure(srv, rater, evalIds, activeId);
			const row = {
				round, model: activeId, train_mean: rated.mean, train_ratings: rated.ratings,
				by: rated.by.map((x) => x.ratings),
				eval_mean: m.mean, eval_half: m.half, evalA: m.a, evalB: m.b, measure: m,
				rm_acc: rw.metrics.heldout_acc, rm_pairs: rw.metrics.heldout_pairs,
				rm_ratings: rw.metrics.ratings, gate: people ? 'people' : promo.decision,
				rm_lo: rw.metrics.heldout_lo, rm_hi: rw.metrics.heldout_hi,
				rm_cv: rw.metrics.cv_acc, rm_cv_lo: rw.metrics.cv_lo, rm_cv_hi: rw.metrics.cv_hi,
				rm_train_acc: rw.metrics.train_acc,
				/* RL: the last batch's KL; best: the gate's, on held-out prompts */
				kl: rl.metrics.kl_last ?? promo.kl ?? null,
				reward_first: rl.metrics.reward_first ?? null, reward_last: rl.metrics.reward_last ?? null,
				loop_sec: tLoop, sec: now() - ti,
				job_sec: [rw, rl, gen].map((j) => (Date.parse(j.finished_at) - Date.parse(j.started_at)) / 1000),
			};
			curve.push(row);
			t.diagnostic(`round ${round}: reward ${rw.id} (held-out acc ${f3(row.rm_acc)} [${f3(row.rm_lo)}, ${f3(row.rm_hi)}] on ${row.rm_pairs} ` +
				`pairs, ${cvText(rw.metrics)}, train ${f3(row.rm_train_acc)}) -> ${rl.kind} ${rl.id} -> policy ${rl.model_id} ` +
				(row.reward_first !== null ? `(rm score ${f3(row.reward_first)} -> ${f3(row.reward_last)}, KL ${f3(row.kl)}) -> ` :
					`(${rl.metrics.examples} answers rated >= 4 in ${rl.metrics.weighted_examples} sequences with focus ` +
					`${rl.metrics.settings.focus}, ${rl.metrics.ptx_documents} pre-training documents, KL ${f3(row.kl)}) -> `) +
				`${gen.metrics.groups} groups; train answers rated ${f3(rated.mean)} (both raters); eval rubric ` +
				`(active model ${activeId}) ${f3(m.mean)} (${m.mean - base.mean >= 0 ? '+' : ''}${f3(m.mean - base.mean)}) [${m.families}], ` +
				`${parts(m)}; ` +
				`loop ${tLoop.toFixed(1)} s (reward/${rl.kind}/generate ` +
				`${row.job_sec.map((x) => x.toFixed(1)).join('/')} s), round ${row.sec.toFixed(1)} s`);
		}

		const final = curve[curve.length - 1];
		const models2 = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models;
		const rms = models2.filter((m) => m.kind === 'reward').sort((a, b) => b.id - a.id);
		assert.ok(rms.length >= 1, 'a reward model');
		const acc = rms[0].metrics && rms[0].metrics.heldout_acc;
		const cv = rms[0].metrics && rms[0].metrics.cv_acc;

		const lines = ['learning curve (eval = held-out prompts, rubric 1..5, 95 % intervals; eval_a = held-out ' +
			'phrasings of items the train split asks about, eval_b = held-out items only pre-training saw):',
			'round  model  ratings  rm_heldout_acc          rm_cv_acc               gate         kl      eval_mean         eval_a         eval_b' +
			`  train_mean  rated (rubric/${SETTINGS.second_taste})  round_s`];
		const iv = (x, lo, hi) => (typeof x === 'number' ? `${f3(x)} [${f3(lo)}, ${f3(hi)}]` : 'null');
		for (const r of curve)
			lines.push(`${String(r.round).padStart(5)}  ${String(r.model).padStart(5)}  ${String(r.rm_ratings ?? '').padStart(7)}  ` +
				`${iv(r.rm_acc, r.rm_lo, r.rm_hi).padEnd(22)}  ${iv(r.rm_cv, r.rm_cv_lo, r.rm_cv_hi).padEnd(22)}  ` +
				`${String(r.gate || '').padEnd(11)}  ${f3(r.kl).padStart(6)}  ` +
				`${`${f3(r.eval_mean)} ± ${f3(r.eval_half)}`.padStart(13)}  ${pm(r.evalA).padStart(13)}  ${pm(r.evalB).padStart(13)}  ` +
				`${f3(r.train_mean).padStart(10)}  ${(r.by ? r.by.join('/') : '').padStart(15 + SETTINGS.second_taste.length)}  ` +
				`${r.sec.toFixed(1).padStart(7)}`);
		lines.push(`demo init ${initSec.toFixed(1)} s; total ${(now() - T0).toFixed(1)} s; ` +
			`eval rise ${f3(final.eval_mean - base.mean)} (part a ${f3(final.evalA.mean - base.a.mean)}, need >= 0.6; ` +
			`part b ${f3(final.evalB.mean - base.b.mean)}, need >= 0.25); latest reward model ${rms[0].id} ` +
			`cross-validated acc ${f3(cv)} (need >= 0.72; held-out split ${f3(acc)}); ${trainRatings} training ratings (at most 3,000)`);
		lines.push(`rise of the final active model over the SFT model (95 % intervals: paired by prompt; on these prompts): ` +
			`part a ${pairedRise(base, final.measure, 'a')}, part b ${pairedRise(base, final.measure, 'b')}`);
		lines.push(`settings: ${JSON.stringify(SETTINGS)}`);
		for (const l of lines) t.diagnostic(l);
		/* the issue's budget, two raters or one; the eval measure's ratings are
		 * the first rater's, so every rating so far is one rater's per group */
		await assertOneRaterPerGroup(srv);
		assert.ok(trainRatings <= 3000, `${trainRatings} training ratings, more than the issue's 3,000`);
		/* evalA / evalB: per round (0 = the SFT model) the eval part's { mean, half, n } */
		result = { base: base.mean, final: final.eval_mean, acc, cv, cvLo: rms[0].metrics && rms[0].metrics.cv_lo, rm: rms[0].id,
			evalA: curve.map((r) => r.evalA), evalB: curve.map((r) => r.evalB),
			riseA: riseOf(base, final.measure, 'a'), riseB: riseOf(base, final.measure, 'b') };
	});

/*
 * The floors of the issue "RLHF that cannot hurt", asserted on every run:
 * the final active model's rise over the SFT model on eval part a at least
 * 0.6 (of 5) and on part b at least 0.25, the latest reward model's pairwise
 * accuracy cross-validated by prompt at least 0.72.  A run's figure has three
 * kinds of noise, and the floors stand against each differently:
 *  - the sampler's, the eval's prompts held fixed (which 64 answers each
 *    model wrote; pairedRise "on these prompts"): +-0.068 to +-0.072
 *    on part a, +-0.073 to +-0.076 on part b; over seeds 81-89 (make
 *    bench-loop, the eighth session of 2026-12-06) every run's lower bound
 *    cleared both floors (the lowest +0.634 on part a, +0.253 on part b);
 *  - the run's own — its seed, the raters' noise, which rater took which
 *    group — the spread over runs of make bench-loop: over the same
 *    nine runs part a rose +0.71 to +0.92 (mean +0.782, 95 % t interval
 *    [+0.720, +0.844]), part b +0.33 to +0.47 (+0.408 [+0.376, +0.440]), the
 *    reward model 0.742-0.768 (0.757 [0.751, 0.763]): every run and every
 *    interval above its floor;
 *  - other prompts like these, each eval prompt a draw from the demo
 *    world's items (paired by prompt; the reward model's interval clustered
 *    by prompt): +-0.31 to +-0.37 on part a, +-0.19 to +-0.25 on part b,
 *    +-0.03 to +-0.04 on the reward model; the lower bounds cleared the floors in 0,
 *    1 and 5 of the nine runs.  The development split (tests/bench/dev.mjs:
 *    162 other phrasings of the same items from other seeds' worlds, the
 *    split the settings were chosen on) is twice the size: there the final
 *    active model rose +0.86 to +1.15 on part a and +0.35 to +0.62 on part
 *    b, each +-0.20 to +-0.31 paired by prompt, the lower bounds above both
 *    floors in 8 of 9 runs; its part c, items the SFT set taught, rose +0.17
 *    to +0.25 in seeds 87-89.  Items no demo world has are beyond any of it.
 * The test asserts the figures; make bench-loop (tests/bench/loop_summary.mjs)
 * says whether each clears its floor beyond its noise, run by run and over
 * the runs.
 *
 * How the floors were reached (make bench-loop, the means over the runs,
 * each on seeds nothing was chosen on): part a +0.652 over 13 runs
 * (2026-12-05, best and its soups, 5 of 13 under 0.6), +0.668, +0.716,
 * +0.763 (2026-12-06, one of 9 under), +0.835 (best's focus: a best-rated
 * answer trained on once more per answer of its group rated below it; none
 * under), +0.768, +0.819, +0.813 (people's verdict asking for no loss on
 * unseen prompts); part b +0.42, +0.39, +0.40, +0.39, +0.45, +0.48, +0.40,
 * +0.43; the reward model 0.676 held out on its split (its network at chance
 * on unseen prompts; the likelihood prior since), then cross-validated
 * 0.736, 0.738, 0.749 (the recognition feature), 0.750, 0.755.  The noiseless
 * rubric orders the same held-out pairs 0.86-0.89 of the time (the rest are
 * the two raters' tastes and noise).  Until the eighth session of
 * 2026-12-06 the three tests were marked TODO: with 16 answers per prompt
 * the sampler's noise was twice the above (about +-0.14), and most of the
 * runs' spread (part b +0.32 to +0.56 over seeds 72-79; +0.33 to +0.47 over
 * seeds 81-89 with 64).
 */

test('the eval rubric mean does not fall below the SFT model\'s', () => {
	assert.ok(result, 'the loop test did not finish');
	assert.ok(result.final >= result.base - 0.05,
		`eval rubric mean ${f3(result.final)} fell ${f3(result.base - result.final)} below the SFT model's ${f3(result.base)}`);
});

/* part a: held-out phrasings of items the loop trains on; part b: items only
 * pre-training saw (server/demo/demo_world.h) */
const rise = (part) => part[part.length - 1].mean - part[0].mean;

/* "+0.412 (95 % lower bound on these prompts +0.351, paired by prompt +0.197)" */
const bounds = (r) => `${f3(r.mean)} (95 % lower bound on these prompts ${f3(r.mean - r.fixedHalf)}, ` +
	`paired by prompt ${f3(r.mean - r.half)})`;

test('eval part a (items trained on) rises by at least 0.6 (of 5) over the SFT model', () => {
	assert.ok(result, 'the loop test did not finish');
	const a = result.evalA;
	assert.ok(rise(a) >= 0.6, `eval part a ${f3(a[a.length - 1].mean)} is ${bounds(result.riseA)} from the SFT ` +
		`model's ${f3(a[0].mean)}: not +0.6`);
});

test('eval part b (items only pre-training saw) rises by at least 0.25 over the SFT model', () => {
	assert.ok(result, 'the loop test did not finish');
	const b = result.evalB;
	assert.ok(rise(b) >= 0.25, `eval part b ${f3(b[b.length - 1].mean)} is ${bounds(result.riseB)} from the SFT ` +
		`model's ${f3(b[0].mean)}: not +0.25`);
});

test('the latest reward model\'s pairwise accuracy held out by prompt (cross-validated) is at least 0.72', () => {
	assert.ok(result, 'the loop test did not finish');
	assert.equal(typeof result.cv, 'number', `reward model ${result.rm} reports its cross-validated accuracy`);
	assert.ok(result.cv >= 0.72, `reward model ${result.rm}: cross-validated pairwise accuracy ${f3(result.cv)} < 0.72 ` +
		`(95 % lower bound clustered by prompt ${f3(result.cvLo)}; held-out split ${f3(result.acc)})`);
});
