/*
 * tests/api/curves.test.mjs — the learning curve by people (GET /api/models'
 * "human" field, db/curves.h) on constructed ratings: a child version and its
 * parent answer the same prompts (generate with model_id), raters score the
 * answers with chosen scores, and the field holds the means of the per-prompt
 * mean scores over the prompts both have rated, computed here by hand, with
 * the worse / better / ties counts; prompts only one of them has are left out,
 * replaced ratings count as replaced.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, importDemos, listModels as models } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ seq: 128 }); });
after(() => tiny?.cleanup());


/* The group of prompt pid's answers written by model mid: {group_id, ids}. */
async function groupOf(srv, pid, mid) {
	const mine = (await promptDetail(srv, pid)).responses.filter((r) => r.model_id === mid);
	assert.ok(mine.length > 0, `prompt ${pid} has answers of model ${mid} (a prompt too long for the model gets none)`);
	const g = mine[0].group_id;
	return { group_id: g, ids: mine.filter((r) => r.group_id === g).map((r) => r.id) };
}

async function rate(rater, g, scores) {
	assert.equal(g.ids.length, scores.length, `group ${g.group_id} has ${g.ids.length} answers`);
	const r = await rater.client.post('/api/ratings', { group_id: g.group_id,
		ratings: g.ids.map((id, i) => ({ response_id: id, score: scores[i] })) });
	assert.equal(r.status, 201, r.text);
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a}, expected ${b}`);

test('human curve: a version\'s and its parent\'s mean scores on the prompts both have rated answers on', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const [p0, p1, p2, p3, p4] = w.trainIds;
		// version 2: an SFT child of the active base model 1 (demonstrations on other prompts)
		await importDemos(srv, w.trainIds.slice(8, 12));
		const child = (await jobSucceeded(srv, await submitJob(srv, 'sft', { epochs: 1, activate: false }))).model_id;
		assert.equal((await models(srv)).find((m) => m.id === child).parent_id, 1);
		assert.equal((await models(srv)).find((m) => m.id === child).human, undefined, 'nothing rated yet');

		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: [p0, p1, p2, p3], k: 2, max_tokens: 12, model_id: 1 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: [p0, p1, p2, p4], k: 2, max_tokens: 12, model_id: child }));
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		// the parent's answers                                     answer means   prompt
		await rate(ann, await groupOf(srv, p0, 1), [2, 4]);      // 2, 4          3
		await rate(ann, await groupOf(srv, p1, 1), [1, 1]);      // 1, 1          1
		await rate(ann, await groupOf(srv, p2, 1), [5, 3]);      // (5+3)/2,      3.5
		await rate(bob, await groupOf(srv, p2, 1), [3, 3]);      //   (3+3)/2
		await rate(ann, await groupOf(srv, p3, 1), [5, 5]);      // the child has no answer here: left out
		// the child's
		await rate(ann, await groupOf(srv, p0, child), [4, 5]);   // 4.5: better
		await rate(ann, await groupOf(srv, p1, child), [1, 1]);  // 1: a tie
		await rate(ann, await groupOf(srv, p2, child), [3, 2]);  // 2.5: worse
		await rate(ann, await groupOf(srv, p4, child), [5, 5]);  // the parent has none here: left out

		let h = (await models(srv)).find((m) => m.id === child).human;
		assert.ok(h, 'the child has a human curve point');
		assert.equal(h.parent_id, 1);
		assert.equal(h.prompts, 3);
		close(h.mean, (4.5 + 1 + 2.5) / 3, 'mean');
		close(h.parent_mean, (3 + 1 + 3.5) / 3, 'parent_mean');
		assert.deepEqual([h.worse, h.better, h.ties], [1, 1, 1]);
		const all = await models(srv);
		assert.equal(all.find((m) => m.id === 1).human, undefined, 'the base model has no parent');

		// ann changes her mind on the child's p1 answers: the current scores count
		await rate(ann, await groupOf(srv, p1, child), [2, 2]);
		h = (await models(srv)).find((m) => m.id === child).human;
		assert.equal(h.prompts, 3);
		close(h.mean, (4.5 + 2 + 2.5) / 3, 'mean after the change');
		close(h.parent_mean, 2.5, 'parent_mean after the change');
		assert.deepEqual([h.worse, h.better, h.ties], [1, 2, 0]);
	} finally {
		await w.stop();
	}
});
