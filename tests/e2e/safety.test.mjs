/*
 * tests/e2e/safety.test.mjs — RLHF that cannot hurt, with default settings
 * throughout ({} params for every job), on the demo model:
 *
 *  1. ratings that carry no information (uniform random 1-5): the reward model
 *     is not credibly better than chance on its held-out prompts, so an RL job
 *     refuses to start with the figures; the auto-training loop's policy step,
 *     best (which takes the ratings as targets and does not wait for a
 *     credible reward model), makes a candidate that the reward model at
 *     chance cannot promote, and people's verdict on its answers, rated at
 *     random too, does not: the SFT model stays active;
 *  2. every answer rated the same: the reward job reports no signal and makes
 *     no model, so RL has no reward model to use;
 *  3. a prompt set of the user's own (capital-city questions in phrasings the
 *     demo tables do not use, imported through the API: 40 train, 20 eval),
 *     three rounds of generate -> rate (right capital 5, a wrong one 2, a
 *     counter-question 1, anything else 2) -> reward {} -> rloo {}, about 480
 *     ratings: the active model afterwards answers the eval questions at
 *     least as well as the SFT model (same seed and sampling, rated by the same
 *     rule), whatever the gates decided — which is printed;
 *  4. the same kind of prompt set (its eval in every phrasing) in an installation of the user's own (the
 *     demo's SFT model imported into an empty data directory: no demo
 *     prompts), with the auto-training loop on and its defaults (reward ->
 *     best -> fresh answers), the user rating whatever the loop asks with
 *     the same rule (and a slip now and then), ~550 ratings over three
 *     rounds: the active model afterwards answers the eval questions at least
 *     as well as the SFT model, and people's verdict on each candidate
 *     reports how it did on the prompts neither model trained on.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRater } from '../lib/fixtures.mjs';
import { DEMO_CACHE, ENV, demoServer, jobs, ok, run, sleep, waitJob } from '../lib/e2e.mjs';
import { randomToken, startServer } from '../lib/server.mjs';

const JOB_S = 1200;

/* A seeded PRNG (mulberry32): the same random ratings every run. */
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6D2B79F5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/* Rates every task the rater is handed with score(answer text, task). */
async function rateAll(rater, score) {
	let n = 0;
	for (;;) {
		const r = await rater.client.get('/api/tasks/next');
		if (r.status === 204) return n;
		assert.equal(r.status, 200, r.text);
		const t = r.json.task;
		const ratings = t.responses.map((x) => ({ response_id: x.id, score: score(x.text, t) }));
		await ok(await rater.client.post('/api/ratings', { group_id: t.group_id, ratings }), 'POST /api/ratings', 201);
		n += ratings.length;
	}
}

async function train(srv, kind, params = {}) {
	const r = await ok(await srv.admin.post('/api/train', { kind, params }), `POST /api/train ${kind}`, 202);
	return waitJob(srv, r.job_id, JOB_S, { allowFail: true });
}

async function setAuto(srv, fields) {
	await ok(await srv.admin.put('/api/config', { auto_train: fields }), 'PUT /api/config');
}

async function activeModel(srv) {
	return (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models.find((m) => m.active);
}

test('random ratings: RL refuses the reward model, the loop\'s best is not promoted, the SFT model stays active', { timeout: 20 * 60 * 1000 }, async (t) => {
	const w = await demoServer();
	t.after(() => w.stop());
	const { srv, sft } = w;
	const rand = rng(7);
	const n = await rateAll(await createRater(srv, 'coin'), () => 1 + Math.floor(rand() * 5));
	t.diagnostic(`${n} random ratings`);
	const rw = await train(srv, 'reward');
	assert.equal(rw.status, 'succeeded', rw.error);
	const m = rw.metrics;
	t.diagnostic(`reward model ${rw.model_id}: held-out acc ${m.heldout_acc} [${m.heldout_lo}, ${m.heldout_hi}] ` +
		`on ${m.heldout_pairs} pairs of ${m.heldout_prompts} prompts; rmse ${m.heldout_rmse}`);
	assert.ok(m.heldout_lo <= 0.55, `random ratings, yet the lower bound is ${m.heldout_lo}`);
	const rl = await train(srv, 'rloo');
	assert.equal(rl.status, 'failed');
	assert.match(rl.error, /not credibly better than chance on held-out prompts/);
	t.diagnostic(`rloo refused: ${rl.error}`);
	assert.equal((await activeModel(srv)).id, sft.id);
	// the loop: reward, then its policy step, best by default, which takes the
	// ratings as its targets and so does not wait for a credible reward model;
	// RL kinds do (above).  A reward model at chance cannot promote best's
	// candidate, and people's verdict on its answers, rated at random too, does not.
	await setAuto(srv, { enabled: true, reward_every_n_ratings: 50 });
	const more = await rateAll(await createRater(srv, 'coin2'), () => 1 + Math.floor(rand() * 5));
	assert.equal(more, 0, 'nothing new to rate');
	// eval answers are rated too: a few random ratings start a round
	await ok(await srv.admin.post('/api/generate', { split: 'eval', max_prompts: 20 }), 'POST /api/generate', 202);
	let auto = null;
	for (const deadline = Date.now() + JOB_S * 1000; Date.now() < deadline;) {
		await rateAll(await createRater(srv, `coin${Date.now()}`), () => 1 + Math.floor(rand() * 5));
		auto = (await jobs(srv)).find((j) => j.kind === 'reward' && j.params.auto && j.status === 'succeeded');
		if (auto) break;
		await new Promise((r) => setTimeout(r, 1000));
	}
	assert.ok(auto, 'the loop ran a reward job');
	// the round: reward -> best -> generate (the candidate's answers, for raters)
	let best = null, gen = null;
	for (const deadline = Date.now() + JOB_S * 1000; !gen && Date.now() < deadline;) {
		await new Promise((r) => setTimeout(r, 1000));
		const js = (await jobs(srv)).filter((j) => j.id > auto.id && j.params.auto);
		assert.ok(!js.some((j) => j.status === 'failed' || j.status === 'cancelled'),
			`the loop's jobs: ${JSON.stringify(js.map((j) => [j.id, j.kind, j.status, j.error]))}`);
		best = js.find((j) => j.kind === 'best');
		gen = best && best.status === 'succeeded' &&
			js.find((j) => j.kind === 'generate' && j.id > best.id && j.status === 'succeeded');
	}
	assert.ok(gen, 'the loop ran best and a generate job after it');
	// no more rounds while the candidate's answers are rated: the loop off
	// (people's verdict is looked at only while it is on)
	await setAuto(srv, { enabled: false });
	const bj = await ok(await srv.admin.get(`/api/jobs/${best.id}`), 'GET /api/jobs/{id}');
	const promo = bj.metrics.promotion;
	t.diagnostic(`best ${best.id} -> model ${bj.model_id}: ${promo.decision}: ${(promo.reasons || []).join('; ')}`);
	assert.equal(promo.decision, 'candidate', `best's candidate on random ratings: ${JSON.stringify(promo)}`);
	assert.ok(promo.reasons.some((r) => /cannot vouch for it|does not prefer it/.test(r)),
		`the reward model's reason: ${promo.reasons.join('; ')}`);
	assert.equal((await activeModel(srv)).id, sft.id);
	assert.equal(gen.metrics.model_id, bj.model_id, 'the generate job writes the candidate\'s answers');
	const verdictRatings = await rateAll(await createRater(srv, 'coin3'), () => 1 + Math.floor(rand() * 5));
	assert.ok(verdictRatings > 0, 'the candidate\'s answers rated');
	// one look at the verdict (the loop on, no new round: a threshold out of reach)
	await setAuto(srv, { enabled: true, reward_every_n_ratings: 1000000 });
	await new Promise((r) => setTimeout(r, 5000));
	await setAuto(srv, { enabled: false });
	const cand = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models.find((m) => m.id === bj.model_id);
	const vd = cand.metrics && cand.metrics.verdict;
	assert.ok(!vd || vd.decision !== 'promoted', `people's verdict promoted it: ${JSON.stringify(vd)}`);
	/* all its answers rated: that was the final look, and the reward model
	 * (not credible on random scores) gave it no lean to promote at 0.05 */
	assert.ok(vd && vd.look === 'final' && vd.decision === 'kept' && vd.rm_leans === false && vd.level === 0.01,
		`people's final look: ${JSON.stringify(vd)}`);
	assert.equal((await activeModel(srv)).id, sft.id);
	t.diagnostic(`${verdictRatings} random ratings of its answers: kept (signed-rank p = ${vd.p}, level ${vd.level}); the SFT model ${sft.id} stays active`);
});

test('all-equal ratings: the reward job reports no signal and RL has no reward model', { timeout: 10 * 60 * 1000 }, async (t) => {
	const w = await demoServer();
	t.after(() => w.stop());
	const { srv, sft } = w;
	await rateAll(await createRater(srv, 'flat'), () => 3);
	const rw = await train(srv, 'reward');
	assert.equal(rw.status, 'failed');
	assert.match(rw.error, /^no signal: all \d+ rated answers have the mean score 3/);
	assert.equal(rw.model_id, null);
	const rl = await train(srv, 'rloo');
	assert.equal(rl.status, 'failed');
	assert.match(rl.error, /^no reward model/);
	assert.equal((await activeModel(srv)).id, sft.id);
});

/* Countries of the demo world, whose capitals the base model read about; the
 * questions are phrased as no demo table phrases them. */
const CAPITALS = [
	['Albania', 'Tirana'], ['Austria', 'Vienna'], ['Belarus', 'Minsk'], ['Belgium', 'Brussels'],
	['Bulgaria', 'Sofia'], ['Croatia', 'Zagreb'], ['Cyprus', 'Nicosia'], ['Denmark', 'Copenhagen'],
	['Estonia', 'Tallinn'], ['Finland', 'Helsinki'], ['France', 'Paris'], ['Germany', 'Berlin'],
	['Greece', 'Athens'], ['Hungary', 'Budapest'], ['Iceland', 'Reykjavik'], ['Ireland', 'Dublin'],
	['Italy', 'Rome'], ['Latvia', 'Riga'], ['Lithuania', 'Vilnius'], ['Malta', 'Valletta'],
	['Moldova', 'Chisinau'], ['Norway', 'Oslo'], ['Poland', 'Warsaw'], ['Portugal', 'Lisbon'],
	['Romania', 'Bucharest'], ['Serbia', 'Belgrade'], ['Slovakia', 'Bratislava'], ['Slovenia', 'Ljubljana'],
	['Spain', 'Madrid'], ['Sweden', 'Stockholm'], ['Switzerland', 'Bern'], ['Ukraine', 'Kyiv'],
	['Argentina', 'Buenos Aires'], ['Brazil', 'Brasilia'], ['Canada', 'Ottawa'], ['Chile', 'Santiago'],
	['Colombia', 'Bogota'], ['Cuba', 'Havana'], ['Ecuador', 'Quito'], ['Jamaica', 'Kingston'],
	['Mexico', 'Mexico City'], ['Nicaragua', 'Managua'], ['Paraguay', 'Asuncion'], ['Peru', 'Lima'],
	['Uruguay', 'Montevideo'], ['Venezuela', 'Caracas'], ['Algeria', 'Algiers'], ['Angola', 'Luanda'],
	['Botswana', 'Gaborone'], ['Cameroon', 'Yaounde'], ['Egypt', 'Cairo'], ['Ethiopia', 'Addis Ababa'],
	['Ghana', 'Accra'], ['Kenya', 'Nairobi'], ['Liberia', 'Monrovia'], ['Libya', 'Tripoli'],
	['Honduras', 'Tegucigalpa'], ['Guyana', 'Georgetown'], ['Belize', 'Belmopan'], ['Eritrea', 'Asmara'],
];
const PHRASES = [
	(c) => `Quick geography check: which city is the capital of ${c}?`,
	(c) => `I keep forgetting. Tell me the capital city of ${c}, please.`,
	(c) => `Name the capital of ${c}.`,
];

/* The user's rule: right capital 5, a wrong capital 2, a counter-question 1, else 2. */
function capitalScore(text, capital) {
	if (text.includes(capital)) return 5;
	if (text.trim().endsWith('?')) return 1;
	return 2;
}

/* A model's answers to the eval questions: k samples each with a fixed seed,
 * scored by the user's rule (read, not stored as ratings): { mean, right
 * (the share of right capitals), n }. */
async function measureCapitals(srv, evalIds, capitalOf, modelId, k) {
	const g = await ok(await srv.admin.post('/api/generate', { prompt_ids: evalIds, model_id: modelId, k, seed: 99, distinct: false }), 'POST /api/generate', 202);
	await waitJob(srv, g.job_id, JOB_S);
	let sum = 0, n = 0, right = 0;
	for (const pid of evalIds) {
		const p = await ok(await srv.admin.get(`/api/prompts/${pid}`), 'GET /api/prompts/{id}');
		const mine = p.responses.filter((a) => a.model_id === modelId);
		const last = Math.max(...mine.map((a) => a.group_id));
		for (const a of mine.filter((x) => x.group_id === last)) {
			const s = capitalScore(a.text, capitalOf.get(pid));
			sum += s; n++; right += s === 5;
		}
	}
	return { mean: sum / n, right: right / n, n };
}

test('a prompt set of the user\'s own, rated sensibly (~480 ratings): the active model is not worse', { timeout: 40 * 60 * 1000 }, async (t) => {
	const w = await demoServer();
	t.after(() => w.stop());
	const { srv, sft } = w;
	const prompts = CAPITALS.map(([c, cap], i) => ({ text: PHRASES[i % 3](c), split: i % 3 === 2 ? 'eval' : 'train', meta: { capital: cap } }));
	const r = await ok(await srv.admin.post('/api/prompts', { prompts }), 'POST /api/prompts', 201);
	const capitalOf = new Map(r.ids.map((id, i) => [id, prompts[i].meta.capital]));
	const trainIds = r.ids.filter((_, i) => prompts[i].split === 'train');
	const evalIds = r.ids.filter((_, i) => prompts[i].split === 'eval');
	assert.equal(trainIds.length, 40);
	const user = await createRater(srv, 'user');
	// demo init left answers to the demo prompts waiting; this user rates only their own
	const rateMine = async () => {
		let n = 0;
		for (const pid of trainIds) {
			const p = await ok(await srv.admin.get(`/api/prompts/${pid}`), 'GET /api/prompts/{id}');
			const groups = new Map();
			for (const a of p.responses) if (a.mean_score === null || a.mean_score === undefined) (groups.get(a.group_id) || groups.set(a.group_id, []).get(a.group_id)).push(a);
			for (const [gid, answers] of groups) {
				const ratings = answers.map((a) => ({ response_id: a.id, score: capitalScore(a.text, capitalOf.get(pid)) }));
				await ok(await user.client.post('/api/ratings', { group_id: gid, ratings }), 'POST /api/ratings', 201);
				n += ratings.length;
			}
		}
		return n;
	};
	/* the eval questions, 4 samples each */
	const measure = (modelId) => measureCapitals(srv, evalIds, capitalOf, modelId, 4);
	const before = await measure(sft.id);
	t.diagnostic(`SFT model ${sft.id}: eval mean ${before.mean.toFixed(3)}, ${(100 * before.right).toFixed(0)} % right`);
	let ratings = 0;
	for (let round = 1; round <= 3; round++) {
		const active = await activeModel(srv);
		const g = await ok(await srv.admin.post('/api/generate', { prompt_ids: trainIds, model_id: active.id, seed: round }), 'POST /api/generate', 202);
		await waitJob(srv, g.job_id, JOB_S);
		ratings += await rateMine();
		const rw = await train(srv, 'reward');
		assert.equal(rw.status, 'succeeded', rw.error);
		const m = rw.metrics;
		const rl = await train(srv, 'rloo');
		const promo = rl.metrics && rl.metrics.promotion;
		t.diagnostic(`round ${round}: ${ratings} ratings; reward ${rw.model_id}: held-out acc ${m.heldout_acc} ` +
			`[${m.heldout_lo}, ${m.heldout_hi}] on ${m.heldout_pairs} pairs (${m.heldout_prompts} prompts), ` +
			`${m.groups} groups (${m.groups_tied} tied); rloo: ${rl.status === 'failed' ? `refused: ${rl.error}` :
				`${promo.decision}${(promo.reasons || []).map((x) => `; ${x}`).join('')} (win ${promo.win_rate} [${promo.win_lo}, ${promo.win_hi}], KL ${rl.metrics.kl_last})`}`);
		if (rl.status === 'failed') assert.match(rl.error, /not credibly better than chance/);
	}
	assert.ok(ratings >= 400 && ratings <= 520, `${ratings} ratings`);
	const final = await activeModel(srv);
	const after = final.id === sft.id ? before : await measure(final.id);
	t.diagnostic(`active model ${final.id}: eval mean ${after.mean.toFixed(3)}, ${(100 * after.right).toFixed(0)} % right ` +
		`(SFT ${before.mean.toFixed(3)}, ${(100 * before.right).toFixed(0)} %)`);
	assert.ok(after.mean >= before.mean - 0.05, `the active model got worse: ${after.mean} < ${before.mean}`);
});

/* A model of one's own: the demo's SFT model (with the text it was
 * pre-trained on, for best's replay) imported into an empty data directory
 * and served; no demo prompts, no answers. */
async function ownServer() {
	const dataDir = mkdtempSync(path.join(tmpdir(), 'rlhfd-own-'));
	await run(['import-model', '--data', dataDir, '--model', path.join(DEMO_CACHE, 'sft.bin'),
		'--tokenizer', path.join(DEMO_CACHE, 'tokenizer.bin'), '--corpus', path.join(DEMO_CACHE, 'pretrain.txt'),
		'--kind', 'sft', '--name', 'my-sft', '--activate'], { env: { ...process.env, ...ENV } });
	const srv = await startServer({ dataDir, adminToken: randomToken(), env: ENV });
	return { srv, stop: async () => { await srv.stop(); rmSync(dataDir, { recursive: true, force: true }); } };
}

test('the loop with its defaults on a user\'s own prompts and model (~550 ratings): the active model is not worse', { timeout: 40 * 60 * 1000 }, async (t) => {
	const { srv, stop } = await ownServer();
	t.after(stop);
	const sft = await activeModel(srv);
	assert.equal(sft.kind, 'sft');
	/* 20 eval questions, one of each three countries, in every phrasing (test
	 * 3 asks the eval in the one phrasing no train question uses: a change no
	 * gate can see, as nothing the loop rates is asked that way — measured
	 * 2026-12-06, every candidate of three such runs answered it worse than
	 * the SFT model, 3.52-3.93 against 4.175, while better on the train
	 * phrasings; the reward model's gate promoted one of them in a fourth) */
	const evalSplit = (i) => (i * 5 + Math.floor(i / 3)) % 3 === 2;
	const prompts = CAPITALS.map(([c, cap], i) => ({ text: PHRASES[i % 3](c), split: evalSplit(i) ? 'eval' : 'train', meta: { capital: cap } }));
	assert.ok([0, 1, 2].every((k) => prompts.some((p, i) => p.split === 'eval' && i % 3 === k)), 'every phrasing in the eval');
	const r = await ok(await srv.admin.post('/api/prompts', { prompts }), 'POST /api/prompts', 201);
	const capitalOf = new Map(r.ids.map((id, i) => [id, prompts[i].meta.capital]));
	const trainIds = r.ids.filter((_, i) => prompts[i].split === 'train');
	const evalIds = r.ids.filter((_, i) => prompts[i].split === 'eval');
	/* the user slips now and then: one score in ten moved by one */
	const rand = rng(11);
	const slip = (s) => (rand() >= 0.1 ? s : s === 5 ? 4 : s === 1 ? 2 : s + (rand() < 0.5 ? -1 : 1));
	const user = await createRater(srv, 'user');
	const rateAsked = () => rateAll(user, (text, task) => slip(capitalScore(text, capitalOf.get(task.prompt_id))));
	const measure = async (modelId) => (await measureCapitals(srv, evalIds, capitalOf, modelId, 8)).mean;
	const before = await measure(sft.id);
	/* round 0: the user asks for answers to their train questions and rates them */
	const g0 = await ok(await srv.admin.post('/api/generate', { prompt_ids: trainIds, seed: 1 }), 'POST /api/generate', 202);
	await waitJob(srv, g0.job_id, JOB_S);
	let ratings = await rateAsked();
	for (let round = 1; round <= 3; round++) {
		const seen = new Set((await jobs(srv)).map((j) => j.id));
		await setAuto(srv, { enabled: true });
		/* the round: reward -> best -> the new policy's answers */
		let gen = null;
		for (const deadline = Date.now() + JOB_S * 1000; !gen && Date.now() < deadline;) {
			await sleep(500);
			const js = (await jobs(srv)).filter((j) => !seen.has(j.id));
			assert.ok(!js.some((j) => j.status === 'failed' || j.status === 'cancelled'),
				`round ${round}: ${JSON.stringify(js.map((j) => [j.id, j.kind, j.status, j.error]))}`);
			gen = js.find((j) => j.kind === 'generate' && j.status === 'succeeded');
		}
		assert.ok(gen, `round ${round}: the loop wrote the new policy's answers`);
		await setAuto(srv, { enabled: false });
		const best = (await jobs(srv)).find((j) => !seen.has(j.id) && j.kind === 'best');
		const bj = await ok(await srv.admin.get(`/api/jobs/${best.id}`), 'GET /api/jobs/{id}');
		ratings += await rateAsked();
		/* one look for people's verdict (the loop on, no new round) */
		await setAuto(srv, { enabled: true, reward_every_n_ratings: 1000000 });
		await sleep(3000);
		await setAuto(srv, { enabled: false, reward_every_n_ratings: 50 });
		const cand = (await ok(await srv.admin.get('/api/models'), 'GET /api/models')).models.find((m) => m.id === bj.model_id);
		const promo = bj.metrics.promotion, vd = cand.metrics.verdict;
		t.diagnostic(`round ${round}: ${ratings} ratings; best ${best.id} -> model ${bj.model_id}: gate ${promo.decision}` +
			`${(promo.reasons || []).map((x) => `; ${x}`).join('')}; people: ${vd ? `${vd.decision} (better on ${vd.better}, ` +
			`worse on ${vd.worse}, tied on ${vd.ties}; unseen ${JSON.stringify(vd.unseen)})` : 'not judged'}`);
		if (promo.decision === 'candidate' && promo.sound !== false) {
			assert.ok(vd && vd.look === 'final', `round ${round}: people's final look at candidate ${cand.id}: ${JSON.stringify(vd)}`);
			assert.ok(vd.unseen && vd.unseen.prompts >= 0 && vd.unseen.margin === 0.5, `the verdict's unseen figures: ${JSON.stringify(vd)}`);
		}
	}
	assert.ok(ratings >= 450 && ratings <= 650, `${ratings} ratings`);
	const final = await activeModel(srv);
	const after = final.id === sft.id ? before : await measure(final.id);
	t.diagnostic(`active model ${final.id}: eval mean ${after.toFixed(3)} (SFT ${before.toFixed(3)}); ${ratings} ratings`);
	assert.ok(after >= before - 0.05, `the active model ${final.id} got worse: ${after} < ${before}`);
});
