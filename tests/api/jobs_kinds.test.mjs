/*
 * tests/api/jobs_kinds.test.mjs — the registry of job kinds through the HTTP
 * API: GET /api/jobs/kinds lists every kind with its parameters, and that
 * listing is what the server does — a job started with {} runs with exactly
 * the listed defaults (its recorded metrics.settings), every numeric
 * parameter accepts its listed bounds and refuses just past them (400 naming
 * the parameter), every choice refuses a non-choice.  A few defaults are also
 * checked against independent knowledge: the trainers' *_defaults in
 * model/trainer.c and model/trainer_rl.c and GEN_MAX_K in server/worker/gen.h.
 *
 * Jobs run on the tiny model of tests/lib/tiny_model.mjs with four train
 * prompts; the RL kinds, which take minutes with their defaults (30
 * iterations of 32 prompts), are cancelled once their first update is done
 * — their settings are recorded whatever the outcome.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, assertError } from '../lib/fixtures.mjs';
import {
	makeTinyModel, serverWithModel, submitJob, waitJob, jobSucceeded, importDemos, rateAll, FINISHED,
} from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 4, evalPrompts: 2, maxEvalChars: 36 }); });
after(() => tiny?.cleanup());

async function listing(srv) {
	const r = await srv.admin.get('/api/jobs/kinds');
	assert.equal(r.status, 200, r.text);
	return r.json;
}

const param = (kinds, kind, name) => kinds.find((k) => k.name === kind).params.find((p) => p.name === name);

test('GET /api/jobs/kinds: every kind, its parameters with type, default, range, help; admins only', async () => {
	const srv = await startServer();
	try {
		const { kinds, auto_train } = await listing(srv);
		assert.deepEqual(kinds.map((k) => k.name), ['generate', 'sft', 'reward', 'ppo', 'rloo', 'grpo', 'best', 'dpo', 'eval', 'score']);
		const produces = Object.fromEntries(kinds.map((k) => [k.name, k.produces]));
		assert.deepEqual(produces, { generate: null, sft: 'sft', reward: 'reward', ppo: 'policy', rloo: 'policy', grpo: 'policy', best: 'policy', dpo: 'policy', eval: null, score: null });
		const activates = Object.fromEntries(kinds.map((k) => [k.name, k.activates]));
		assert.deepEqual(activates, { generate: false, sft: true, reward: false, ppo: true, rloo: true, grpo: true, best: true, dpo: true, eval: false, score: false });
		for (const k of kinds) {
			assert.equal(typeof k.help, 'string');
			const names = k.params.map((p) => p.name);
			assert.equal(new Set(names).size, names.length, `${k.name}: each parameter once`);
			for (const internal of ['auto', 'ratings_upto']) assert.ok(!names.includes(internal), `${k.name}: ${internal} is the server's own`);
			for (const p of k.params) {
				assert.ok(['int', 'number', 'bool', 'string', 'choice', 'model', 'ids'].includes(p.type), `${k.name}.${p.name}: type ${p.type}`);
				assert.ok(typeof p.help === 'string' && p.help.length > 0, `${k.name}.${p.name}: a help line`);
				assert.ok('default' in p, `${k.name}.${p.name}: a default (maybe null)`);
				if (p.default === null) assert.match(p.help, /null = |required/, `${k.name}.${p.name}: the help says what null means`);
				// a choice's default is one of its choices, or null (score.split: both splits) as its help says
				if (p.type === 'choice') assert.ok(p.choices.includes(p.default) || p.default === null, `${k.name}.${p.name}: the default is a choice`);
				if (p.type === 'int' || p.type === 'number') {
					if (p.default !== null) assert.ok(p.default >= p.min && (p.max === undefined || p.default <= p.max), `${k.name}.${p.name}: default in range`);
				}
			}
		}
		// Independent knowledge: model/trainer_rl.c trainer_rl_defaults, model/trainer.c
		// trainer_reward_defaults / trainer_sft_defaults / trainer_dpo_defaults,
		// trainer_eval_defaults, GEN_MAX_K (server/worker/gen.h) and the generate job's own.
		// best: 3e-4 (chosen on the development split), three passes of at most 160 steps (job_params.c), the RL kinds' gate
		assert.equal(param(kinds, 'best', 'lr').default, 3e-4);
		assert.equal(param(kinds, 'best', 'epochs').default, 3);
		assert.equal(param(kinds, 'best', 'max_steps').default, 160);
		assert.equal(param(kinds, 'best', 'kl_ceiling').default, 6);
		assert.equal(param(kinds, 'best', 'from').default, 'reference');
		assert.deepEqual(param(kinds, 'best', 'from').choices, ['reference', 'parent', 'previous']);
		assert.equal(param(kinds, 'best', 'min_score').default, 4);
		assert.equal(param(kinds, 'best', 'promote').default, 'gate');
		// best takes people's ratings as targets and does not wait for a credible reward model
		assert.equal(param(kinds, 'best', 'require_reward_acc').default, 0);
		// ptx: one pre-training document of 32 tokens per best-rated answer (README)
		assert.equal(param(kinds, 'best', 'ptx').default, 1);
		assert.equal(param(kinds, 'best', 'ptx_tokens').default, 32);
		assert.equal(param(kinds, 'sft', 'lr').default, 5e-4);
		for (const rl of ['ppo', 'rloo', 'grpo']) {
			assert.equal(param(kinds, rl, 'iterations').default, 30);
			assert.equal(param(kinds, rl, 'prompts_per_iter').default, 32);
			assert.equal(param(kinds, rl, 'max_new').default, 96);
			assert.equal(param(kinds, rl, 'lr').default, 5e-5);
			assert.equal(param(kinds, rl, 'minibatch').default, 64);
			assert.equal(param(kinds, rl, 'kl_target').default, 1);
			assert.equal(param(kinds, rl, 'kl_ceiling').default, 4);
			assert.equal(param(kinds, rl, 'promote').default, 'gate');
			assert.deepEqual(param(kinds, rl, 'prompts').choices, ['rated', 'all']);
			assert.equal(param(kinds, rl, 'require_reward_acc').default, 0.55);
		}
		// reward: one pass when trained afresh (job_params.c settings_defaults; the
		// trainer's own default is 2), one when warm-started
		assert.equal(param(kinds, 'reward', 'epochs').default, 1);
		assert.equal(param(kinds, 'reward', 'warm_epochs').default, 1);
		assert.equal(param(kinds, 'reward', 'lr').default, 3e-4);
		assert.equal(param(kinds, 'sft', 'lr').default, 5e-4);
		assert.equal(param(kinds, 'dpo', 'lr').default, 5e-5);
		assert.equal(param(kinds, 'eval', 'max_new').default, 96);
		assert.equal(param(kinds, 'generate', 'k').default, 4);
		assert.equal(param(kinds, 'generate', 'k').max, 16);
		assert.equal(param(kinds, 'eval', 'model_id').required, true);
		assert.deepEqual(param(kinds, 'reward', 'score').choices, ['mean', 'last']);

		// the auto-training settings, described with the ranges of the jobs they feed
		const at = Object.fromEntries(auto_train.params.map((p) => [p.name, p]));
		const k = param(kinds, 'generate', 'k');
		assert.deepEqual([at.generate_k.min, at.generate_k.max, at.generate_k.default], [k.min, k.max, k.default]);
		const mp = param(kinds, 'generate', 'max_prompts');
		assert.deepEqual([at.generate_prompts.min, at.generate_prompts.max], [mp.min, mp.max]);
		assert.deepEqual(at.rl_kind.choices, kinds.filter((x) => x.produces === 'policy').map((x) => x.name));
		const cfg = (await srv.admin.get('/api/config')).json.auto_train;
		assert.deepEqual(Object.keys(at).sort(), Object.keys(cfg).sort(), 'every auto_train key described');

		const rater = await createRater(srv, 'ann');
		assertError(await rater.client.get('/api/jobs/kinds'), 403, 'a rater');
		assertError(await srv.client(null).get('/api/jobs/kinds'), 401, 'no token');
	} finally {
		await srv.stop();
	}
});

/* Just past a numeric parameter's listed range, on each side it has. */
function outside(p) {
	const out = [];
	if (p.type === 'int' || p.type === 'model') {
		out.push(p.min - 1);
		if (p.max !== undefined) out.push(p.max + 1);
	} else {
		out.push(p.min - Math.max(Math.abs(p.min) * 1e-6, 1e-12));
		out.push(p.max + Math.max(Math.abs(p.max) * 1e-6, 1e-12));
	}
	return out;
}

/* POST a job of kind with params as the API takes them. */
function start(srv, kind, params) {
	return kind === 'generate' ? srv.admin.post('/api/generate', params) : srv.admin.post('/api/train', { kind, params });
}

test('every numeric parameter accepts its listed bounds and refuses just past them; every choice refuses a non-choice', async () => {
	const srv = await startServer();   // no model: an accepted job fails at once ("no active model")
	try {
		const { kinds } = await listing(srv);
		let refused = 0, accepted = 0;
		// the required ones (eval's model_id) given, so the one under test is what is refused
		const baseOf = (k) => Object.fromEntries(k.params.filter((p) => p.required).map((p) => [p.name, p.min]));
		for (const k of kinds) {
			const base = baseOf(k);
			for (const p of k.params) {
				const field = k.name === 'generate' ? p.name : `params.${p.name}`;
				const bad = ['int', 'number', 'model'].includes(p.type) ? outside(p)
					: p.type === 'choice' ? ['not-a-choice', ...p.choices.map((c) => c.toUpperCase())] : [];
				for (const v of bad) {
					const r = await start(srv, k.name, { ...base, [p.name]: v });
					assertError(r, 400, `${k.name}.${p.name} = ${v}`);
					assert.equal(r.json.error.field, field, `${k.name}.${p.name} = ${v}: the field`);
					assert.ok(r.json.error.message.includes(field), `${k.name}.${p.name} = ${v}: ${r.json.error.message}`);
					refused++;
				}
				const good = p.type === 'int' || p.type === 'number' ? [p.min, ...(p.max !== undefined ? [p.max] : [])]
					: p.type === 'choice' ? p.choices : [];
				for (const v of good) {
					const r = await start(srv, k.name, { ...base, [p.name]: v });
					// accepted: queued, or (eval's required model) the model is not there
					assert.ok(r.status === 202 || (r.status === 404 && /model_id/.test(r.json.error.message)),
						`${k.name}.${p.name} = ${v}: ${r.status} ${r.text}`);
					accepted++;
				}
			}
		}
		assert.ok(refused > 200 && accepted > 200, `${refused} refused, ${accepted} accepted`);
		// unknown keys are refused too, internal ones included
		for (const k of kinds) for (const key of ['no_such_param', 'auto']) {
			const r = await start(srv, k.name, { ...baseOf(k), [key]: 1 });
			assertError(r, 400, `${k.name}.${key}`);
			assert.equal(r.json.error.field, k.name === 'generate' ? key : `params.${key}`);
		}
	} finally {
		await srv.stop();
	}
});

/* The settings a job started with `given` must have run with: the listing's defaults, the given values. */
function expectedSettings(kind, given, resolved) {
	const out = {};
	for (const p of kind.params) out[p.name] = p.name in given ? given[p.name] : p.name in resolved ? resolved[p.name] : p.default;
	return out;
}

async function activeModel(srv) {
	return (await srv.admin.get('/api/models')).json.models.find((m) => m.active).id;
}

/* Runs kind with {} (plus the required params) to its end, or cancels it after its first update. */
async function runDefaults(srv, kind, { given = {}, cancel = false } = {}) {
	const id = await submitJob(srv, kind.name, given);
	if (cancel) {
		await waitJob(srv, id, (j) => FINISHED.includes(j.status) || (j.status === 'running' && j.progress > 0), { timeoutMs: 300000 });
		await srv.admin.post(`/api/jobs/${id}/cancel`, {});
	}
	const job = await waitJob(srv, id, (j) => FINISHED.includes(j.status), { timeoutMs: 300000 });
	if (!cancel) assert.equal(job.status, 'succeeded', `${kind.name}: ${JSON.stringify(job)}`);
	assert.ok(job.metrics.settings, `${kind.name}: settings recorded (${job.status})`);
	return job;
}

test('a job started with {} runs with exactly the listed defaults (its recorded settings), for every kind', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const byName = new Map((await listing(srv)).kinds.map((k) => [k.name, k]));
		const kinds = [...byName.keys()];
		const done = new Set();
		const check = async (name, job, resolved, given = {}) => {
			const kind = byName.get(name);
			assert.deepEqual(job.metrics.settings, expectedSettings(kind, given, resolved), `${name}: settings`);
			if (kind.produces && job.status === 'succeeded') {
				const m = (await srv.admin.get('/api/models')).json.models.find((x) => x.id === job.model_id);
				assert.equal(m.kind, kind.produces, `${name}: makes a ${kind.produces} version`);
				// a policy job activates what its promotion gate promotes (its decision recorded)
				const gated = job.metrics.promotion && job.metrics.promotion.mode === 'gate';
				assert.equal(m.active, kind.activates && (!gated || job.metrics.promotion.decision === 'promoted'),
					`${name}: activated as the listing and its gate say (${JSON.stringify(job.metrics.promotion)})`);
			}
			done.add(name);
		};

		// generate: all four train prompts, K = 4; seed null = the job id
		let active = await activeModel(srv);
		const gen = await runDefaults(srv, byName.get('generate'));
		await check('generate', gen, { model_id: active, seed: gen.id });
		assert.ok(gen.metrics.groups > 0);
		assert.equal(gen.metrics.responses, gen.metrics.groups * byName.get('generate').params.find((p) => p.name === 'k').default);

		const ann = await createRater(srv, 'ann');
		assert.ok(await rateAll(ann) > 0);
		const rm = await runDefaults(srv, byName.get('reward'));
		await check('reward', rm, { model_id: active });

		// The RL kinds: the policy has no sft ancestor yet, so it is its own reference.
		for (const rl of ['ppo', 'rloo', 'grpo', 'best']) {
			active = await activeModel(srv);
			const job = await runDefaults(srv, byName.get(rl), { cancel: true });
			await check(rl, job, { model_id: active, ref_model_id: active, reward_model_id: rm.model_id });
		}
		active = await activeModel(srv);
		const dpo = await runDefaults(srv, byName.get('dpo'));
		await check('dpo', dpo, { model_id: active, ref_model_id: active });

		await importDemos(srv, w.trainIds);
		active = await activeModel(srv);
		const sft = await runDefaults(srv, byName.get('sft'));
		await check('sft', sft, { model_id: active });

		// eval needs its model named; everything else is left to the defaults
		const ev = await runDefaults(srv, byName.get('eval'), { given: { model_id: 1 } });
		await check('eval', ev, { reward_model_id: rm.model_id, ref_model_id: 1 }, { model_id: 1 });

		// score: the newest reward model, every answer of both splits
		const sc = await runDefaults(srv, byName.get('score'));
		await check('score', sc, { reward_model_id: rm.model_id });
		assert.equal(sc.metrics.settings.split, null);

		assert.deepEqual([...done].sort(), [...kinds].sort(), 'every kind checked');
	} finally {
		await w.stop();
	}
});
