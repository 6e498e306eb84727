/*
 * tests/api/ptx.test.mjs — the best job's replay of pre-training text (ptx,
 * server/worker/job_train.c seqs_ptx):
 *
 *   - `import-model --corpus FILE` stores the text in the model store under
 *     its content name (corpus-<first 16 hex digits of its SHA-256>.txt, the
 *     same bytes), and a corpus that is empty or not text is refused with
 *     nothing imported;
 *   - the best job adds round(ptx x sequences) documents of it (its answers
 *     with their focus repeats, tests/api/best_focus.test.mjs; at most the
 *     corpus's documents), each cut to ptx_tokens, and trains on them: with
 *     the same answers and seed its weighted tokens exceed a ptx-0 run's by
 *     exactly the documents' targets per epoch;
 *   - max_steps caps best's optimizer steps whatever its epochs;
 *   - from: best fine-tunes the reference afresh, or with "parent" goes on
 *     from the policy it improves (a parent fitted to the answers starts
 *     from a lower loss on them), or with "previous" from the newest policy
 *     a best job made from the same reference;
 *   - a version derived from the model keeps the corpus (a best job from it
 *     replays too); without a corpus, or with ptx 0, the job trains on the
 *     answers alone and says so in its metrics.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN } from '../lib/server.mjs';
import { createRater } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll, rlhfd } from '../lib/tiny_model.mjs';

let tiny;
before(() => { tiny = makeTinyModel({ trainPrompts: 6, evalPrompts: 2 }); });
after(() => tiny?.cleanup());

/* A reward model over rated answers of the train prompts (scores 1, 5, 3, 2: every group has a 5). */
async function rated(srv) {
	await jobSucceeded(srv, await submitJob(srv, 'generate', {}));
	assert.ok(await rateAll(await createRater(srv, 'ann')) > 0);
	return jobSucceeded(srv, await submitJob(srv, 'reward', {}));
}

/* A best job that neither waits for a credible reward model nor activates. */
const best = async (srv, params) => jobSucceeded(srv, await submitJob(srv, 'best',
	{ require_reward_acc: 0, promote: 'never', epochs: 2, seed: 7, soup: 0, rs_k: 0, ...params }));

test('import-model --corpus: stored by content; the best job replays round(ptx x sequences) documents and trains on them', async () => {
	const w = await serverWithModel(tiny, { importArgs: ['--corpus', tiny.corpus] });
	try {
		const { srv, dataDir } = w;
		const bytes = readFileSync(tiny.corpus);
		const name = `corpus-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.txt`;
		assert.deepEqual(readFileSync(path.join(dataDir, 'models', name)), bytes, 'the corpus, stored under its content name');
		const docs = bytes.toString('utf8').split('\n\n');
		const empty = docs.filter((d) => d.length === 0).length;

		await rated(srv);
		const off = await best(srv, { ptx: 0 });
		assert.equal(off.metrics.ptx_documents, 0);
		assert.equal(off.metrics.ptx_tokens, 0);
		const on = await best(srv, { ptx: 2, ptx_tokens: 16 });
		const answers = on.metrics.examples;
		assert.ok(answers > 0, 'answers rated >= 4');
		assert.equal(on.metrics.examples, off.metrics.examples, 'the same answers');
		// one document per trained sequence: the answers with their focus repeats
		const want = Math.min(docs.length, Math.round(2 * on.metrics.weighted_examples));
		assert.ok(on.metrics.ptx_documents <= want && on.metrics.ptx_documents >= want - empty,
			`${on.metrics.ptx_documents} documents for ${answers} answers (want ${want}, ${empty} empty documents)`);
		assert.ok(on.metrics.ptx_tokens > 0 && on.metrics.ptx_tokens <= on.metrics.ptx_documents * 15,
			`${on.metrics.ptx_tokens} tokens in ${on.metrics.ptx_documents} documents of at most 16 tokens (BOS not a target)`);
		// trained on: every epoch sees every sequence's targets once
		assert.equal(on.metrics.tokens - off.metrics.tokens, 2 * on.metrics.ptx_tokens,
			`weighted tokens with ptx ${on.metrics.tokens}, without ${off.metrics.tokens}`);

		// max_steps caps the optimizer steps whatever the epochs (two epochs take at least two)
		assert.ok(off.metrics.steps >= 2, `${off.metrics.steps} steps in two epochs`);
		const capped = await best(srv, { ptx: 0, max_steps: 1 });
		assert.equal(capped.metrics.steps, 1);
		assert.ok(capped.metrics.tokens < off.metrics.tokens, 'fewer tokens seen than two full epochs');

		// a version derived from the model keeps the corpus
		const r = await srv.admin.post(`/api/models/${on.model_id}/activate`, {});
		assert.equal(r.status, 200, r.text);
		const again = await best(srv, { ptx: 1 });
		assert.ok(again.metrics.ptx_documents > 0, `policy ${on.model_id} replays its base model's corpus`);

		// from: the reference afresh (the default) or the parent; a parent fitted hard to these
		// answers starts from a lower loss on them than the reference does
		const fitted = await best(srv, { ptx: 0, lr: 3e-3 });
		assert.equal((await srv.admin.post(`/api/models/${fitted.model_id}/activate`, {})).status, 200);
		// (the imported model, 1, is the reference: the tiny world has no sft version, and a
		// policy without an sft ancestor would be its own)
		const fresh = await best(srv, { ptx: 0, max_steps: 1, ref_model_id: 1 });
		const cont = await best(srv, { ptx: 0, max_steps: 1, ref_model_id: 1, from: 'parent' });
		assert.equal(fresh.metrics.ref_model_id, 1);
		assert.equal(fresh.metrics.from_model_id, 1, 'by default from the reference');
		assert.equal(cont.metrics.from_model_id, fitted.model_id, 'from the parent');
		assert.equal(cont.metrics.ref_model_id, fresh.metrics.ref_model_id, 'the reference stays the gate\'s');
		assert.ok(cont.metrics.loss_first < fresh.metrics.loss_first - 0.05,
			`first loss from the parent ${cont.metrics.loss_first}, from the reference ${fresh.metrics.loss_first}`);
		// "previous": the newest policy a best job made from the same reference (cont), not
		// the parent (fitted, the active model) nor the reference
		const prev = await best(srv, { ptx: 0, max_steps: 1, ref_model_id: 1, from: 'previous' });
		assert.equal(prev.metrics.previous_model_id, cont.model_id);
		assert.equal(prev.metrics.from_model_id, cont.model_id, 'from the previous best policy');
		assert.equal(prev.metrics.ref_model_id, 1);
		assert.ok(prev.metrics.loss_first < fresh.metrics.loss_first - 0.05,
			`first loss from the previous ${prev.metrics.loss_first}, from the reference ${fresh.metrics.loss_first}`);
		const bad = await srv.admin.post('/api/train', { kind: 'best', params: { from: 'grandparent' } });
		assert.equal(bad.status, 400, bad.text);
	} finally {
		await w.stop();
	}
});

test('without a corpus the best job trains on the answers alone', async () => {
	const w = await serverWithModel(tiny);
	try {
		await rated(w.srv);
		const job = await best(w.srv, { ptx: 2 });
		assert.ok(job.metrics.examples > 0);
		assert.equal(job.metrics.ptx_documents, 0);
		assert.equal(job.metrics.ptx_tokens, 0);
	} finally {
		await w.stop();
	}
});

test('import-model --corpus refuses an empty file and one that is not text, and imports nothing', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rlhfd-ptx-'));
	try {
		const data = path.join(dir, 'data');
		const cases = [['empty.txt', Buffer.alloc(0), /corpus '.*empty\.txt' is empty/],
			['nul.txt', Buffer.from('The capital of France is Paris.\0\n'), /corpus '.*nul\.txt' is not text/],
			['missing.txt', null, /cannot open '.*missing\.txt'/]];
		for (const [file, content, msg] of cases) {
			const p = path.join(dir, file);
			if (content) writeFileSync(p, content);
			const r = spawnSync(BIN, ['import-model', '--data', data, '--model', tiny.base, '--tokenizer', tiny.tok,
				'--corpus', p], { encoding: 'utf8' });
			assert.equal(r.status, 1, `${file}: ${r.stdout} ${r.stderr}`);
			assert.match(r.stderr, msg, file);
			assert.ok(!existsSync(path.join(data, 'models', '1.bin')), `${file}: no version written`);
		}
		// nothing was recorded: the first good import is version 1
		assert.match(rlhfd(['import-model', '--data', data, '--model', tiny.base, '--tokenizer', tiny.tok,
			'--corpus', tiny.corpus]), /^model_id=1$/m);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});
