/*
 * tests/api/soup.test.mjs — the best job's model soup (server/worker/
 * job_train.c best_soup): fine-tuned from the reference, the new weights are
 * averaged with the previous best policy of the same reference, the newest
 * weighing 1/min(members, soup).  Checked against the direct computation on
 * the checkpoints themselves: with the same seed and data (no ptx, whose
 * documents depend on the job, and no sampled answers: rs_k 0) a best job's
 * own fine-tuning is the same every time, so with raw policies A (seed 7) and
 * B (seed 8) made without a
 * soup, the next seed-7 job writes (A + B) / 2 (two members, B the previous)
 * and the one after it A / 3 + 2/3 of that (three members).  A soup with
 * the active parent among its members tells the gate so (soup.has_parent,
 * promotion.margin).  Going on from the previous policy there is no soup,
 * and soup 0 turns it off.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRater } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll, listModels } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 6, evalPrompts: 2 }); });
after(() => tiny?.cleanup());

/* The weights of version id: its checkpoint after the 256-byte llama2.c v1 header. */
function weights(dataDir, id) {
	const buf = readFileSync(path.join(dataDir, 'models', `${id}.bin`));
	assert.equal(buf.readUInt32LE(0), 0x616b3432, `models/${id}.bin is a llama2.c v1 checkpoint`);
	return new Float32Array(buf.buffer.slice(buf.byteOffset + 256, buf.byteOffset + buf.length));
}

/* The largest |got - want| over every weight. */
function maxDiff(got, want) {
	assert.equal(got.length, want.length);
	let d = 0;
	for (let i = 0; i < got.length; i++)
		d = Math.max(d, Math.abs(got[i] - want[i]));
	return d;
}

test('best soup: the mean of the fine-tuned weights and the previous best policy, the newest weighing 1/min(members, soup)', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, dataDir } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', {}));
		assert.ok(await rateAll(await createRater(srv, 'ann')) > 0);
		await jobSucceeded(srv, await submitJob(srv, 'reward', {}));
		// the imported model, 1, is the reference (the tiny world has no sft version)
		const best = async (params) => jobSucceeded(srv, await submitJob(srv, 'best',
			{ require_reward_acc: 0, promote: 'never', epochs: 2, batch_size: 2, ptx: 0, rs_k: 0, ref_model_id: 1, lr: 3e-3, ...params }));

		const a = await best({ seed: 7, soup: 0 });
		assert.equal(a.metrics.soup, undefined, 'soup 0: no soup');
		const again = await best({ seed: 7, soup: 0 });
		const A = weights(dataDir, a.model_id);
		assert.ok(maxDiff(weights(dataDir, again.model_id), A) < 1e-6, 'the same seed and data fine-tune alike');
		const b = await best({ seed: 8, soup: 0 });
		const B = weights(dataDir, b.model_id);
		const spread = maxDiff(A, B);
		assert.ok(spread > 1e-3, `two seeds fine-tune apart (${spread})`);

		const two = await best({ seed: 7 });
		assert.deepEqual(two.metrics.soup, { members: 2, with_model_id: b.model_id, weight: 0.5, has_parent: false },
			'the parent, the imported model, is not one of its members');
		assert.equal(two.metrics.previous_model_id, b.model_id);
		const S2 = weights(dataDir, two.model_id);
		const want2 = A.map((x, i) => 0.5 * x + 0.5 * B[i]);
		assert.ok(maxDiff(S2, want2) < 1e-5, `soup of two: (A + B) / 2 (off by ${maxDiff(S2, want2)})`);

		const three = await best({ seed: 7 });
		assert.equal(three.metrics.soup.members, 3);
		assert.equal(three.metrics.soup.with_model_id, two.model_id);
		assert.ok(Math.abs(three.metrics.soup.weight - 1 / 3) < 1e-6);
		const S3 = weights(dataDir, three.model_id);
		const want3 = A.map((x, i) => x / 3 + (2 / 3) * S2[i]);
		assert.ok(maxDiff(S3, want3) < 1e-5, `soup of three: A / 3 + 2/3 (A + B) / 2 (off by ${maxDiff(S3, want3)})`);

		// soup 2: the newest weighs a half whatever the members
		const four = await best({ seed: 7, soup: 2 });
		assert.equal(four.metrics.soup.members, 4);
		assert.equal(four.metrics.soup.weight, 0.5);
		const S4 = weights(dataDir, four.model_id);
		const want4 = A.map((x, i) => 0.5 * x + 0.5 * S3[i]);
		assert.ok(maxDiff(S4, want4) < 1e-5, `soup 2: A / 2 + the previous / 2 (off by ${maxDiff(S4, want4)})`);

		// from the previous policy (or a parent that is not the reference) it goes on
		// training that one: no soup
		const cont = await best({ seed: 7, from: 'previous' });
		assert.equal(cont.metrics.from_model_id, four.model_id);
		assert.equal(cont.metrics.soup, undefined);
		const bad = await srv.admin.post('/api/train', { kind: 'best', params: { soup: -1 } });
		assert.equal(bad.status, 400, bad.text);
		assert.equal(JSON.parse(bad.text).error.field, 'params.soup');

		// a soup with its parent among its members: the gate's non-inferiority margin
		// (promote.h PROMOTE_SOUP_MARGIN); soup_margin 0 asks it to beat the parent
		const p = await best({ seed: 9, soup: 0, promote: 'always' });
		assert.equal((await listModels(srv)).find((m) => m.active).id, p.model_id, 'promote always: active');
		// each step back keeps 1 - weight of the soup before it: the parent's share
		// is 1/2 in the first soup over it, 2/3 * 1/2 in the next, 2/3 * 2/3 * 1/2
		// in the one after, under PROMOTE_SOUP_SHARE (1/3): no margin there.  The
		// tiny world's reward model is not credible, so none of them is promoted
		// and p stays their parent.
		const shares = [[2, 0.5, 1 / 2, 0.1], [3, 1 / 3, 1 / 3, 0.1], [4, 1 / 3, 2 / 9, 0]];
		let prev = p.model_id;
		for (const [members, weight, share, margin] of shares) {
			const g = await best({ seed: 7, promote: 'gate' });
			const why = JSON.stringify(g.metrics.soup) + ' ' + JSON.stringify(g.metrics.promotion);
			assert.equal(g.metrics.promotion?.decision, 'candidate', why);
			assert.equal(g.metrics.soup.members, members, why);
			assert.equal(g.metrics.soup.with_model_id, prev, why);
			assert.ok(Math.abs(g.metrics.soup.weight - weight) < 1e-6, why);
			assert.equal(g.metrics.soup.has_parent, true, why);
			assert.ok(Math.abs(g.metrics.soup.parent_share - share) < 1e-6, why);
			assert.ok(Math.abs(g.metrics.promotion.margin - margin) < 1e-6, why);
			assert.equal(g.metrics.promotion.mode, 'gate');
			prev = g.model_id;
		}
		const g0 = await best({ seed: 7, promote: 'gate', soup_margin: 0 });
		assert.equal(g0.metrics.promotion.margin, 0, JSON.stringify(g0.metrics.promotion));
		const badm = await srv.admin.post('/api/train', { kind: 'best', params: { soup_margin: 0.6 } });
		assert.equal(badm.status, 400, badm.text);
		assert.equal(JSON.parse(badm.text).error.field, 'params.soup_margin');
	} finally {
		await w.stop();
	}
});
