/*
 * tests/api/rs.test.mjs — the best job's rejection sampling (server/worker/
 * job_train.c best_rs): the parent answers each of the reward model's
 * training prompts rs_k times and the reward model's best answer of each
 * joins people's best-rated ones when it ended and scored at least rs_min —
 * only with a reward model whose held-out accuracy's lower bound is above
 * rs_require_acc.  On the tiny model: with every pick let through the job
 * adds at most one answer per training prompt and trains on more tokens than
 * without; a threshold no score reaches adds none; a requirement the reward
 * model does not meet samples nothing and says why; rs_k 0, the default,
 * turns it off; bad values are refused.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 6, evalPrompts: 2 }); });
after(() => tiny?.cleanup());

test('best: rejection sampling adds the reward model\'s best sampled answer per training prompt, only when the reward model is credible', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', {}));
		assert.ok(await rateAll(await createRater(srv, 'ann')) > 0);
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', {}));
		const trainPrompts = rj.metrics.train_prompt_ids.length;
		assert.ok(trainPrompts > 0);
		// no step cap: more sequences, more tokens trained.  The tiny model writes
		// nonsense and seldom ends an answer (a pick must end): 16 draws a prompt
		// give it ended answers to pick from
		const best = async (params) => jobSucceeded(srv, await submitJob(srv, 'best',
			{ require_reward_acc: 0, promote: 'never', epochs: 1, max_steps: 0, batch_size: 2, ptx: 0, soup: 0,
			  ref_model_id: 1, seed: 7, ...params }));

		const off = await best({});
		assert.equal(off.metrics.rs, undefined, 'rs_k 0, the default: no sampling');
		assert.equal(off.metrics.settings.rs_k, 0);

		const all = await best({ rs_k: 16, rs_min: -100, rs_require_acc: 0 });
		const rs = all.metrics.rs;
		assert.equal(rs.k, 16);
		assert.equal(rs.from_model_id, 1, 'the parent samples (the active model)');
		assert.ok(rs.prompts > 0 && rs.prompts <= trainPrompts, `prompts ${rs.prompts} of ${trainPrompts}`);
		assert.ok(rs.added > 0 && rs.added <= rs.prompts, `added ${rs.added} of ${rs.prompts} prompts`);
		assert.equal(all.metrics.examples, off.metrics.examples, 'people\'s answers are the same');
		assert.ok(all.metrics.tokens > off.metrics.tokens, `tokens ${all.metrics.tokens} vs ${off.metrics.tokens} without`);

		const none = await best({ rs_k: 3, rs_min: 100, rs_require_acc: 0 });
		assert.equal(none.metrics.rs.added, 0, 'no score reaches 100');
		assert.equal(none.metrics.tokens, off.metrics.tokens, 'nothing added: the same tokens as without');

		const doubt = await best({ rs_k: 3, rs_min: -100, rs_require_acc: 0.999 });
		assert.equal(doubt.metrics.rs.added, 0);
		assert.match(doubt.metrics.rs.skipped, /not credibly better than chance|no held-out accuracy/);

		for (const [params, field] of [[{ rs_k: -1 }, 'params.rs_k'], [{ rs_k: 65 }, 'params.rs_k'],
			[{ rs_require_acc: 1.5 }, 'params.rs_require_acc'], [{ rs_min: 'x' }, 'params.rs_min']]) {
			const bad = await srv.admin.post('/api/train', { kind: 'best', params });
			assert.equal(bad.status, 400, bad.text);
			assert.equal(JSON.parse(bad.text).error.field, field);
		}
	} finally {
		await w.stop();
	}
});
