/*
 * tests/api/exports.test.mjs — pairs.jsonl and sft.jsonl hand out what the
 * jobs train on (db/traindata.h is the one definition): the imported
 * demonstrations in sft.jsonl as the SFT job reads them (include_imported),
 * `since` keeping an answer's mean over all its current ratings, and, on a
 * tiny model with real generated and rated answers, the DPO, reward and SFT
 * jobs counting exactly the pairs and rows the exports list for split=train.
 * (tests/api/admin.test.mjs checks every field of the four exports.)
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseJsonl, sleep } from '../lib/server.mjs';
import { createRater, importGroup, assertError } from '../lib/fixtures.mjs';
import {
	makeTinyModel, serverWithModel, submitJob, jobSucceeded, importDemos, rateAll,
} from '../lib/tiny_model.mjs';

const jsonl = async (srv, url) => {
	const r = await srv.admin.get(url);
	assert.equal(r.status, 200, `${url}: ${r.text.slice(0, 300)}`);
	return parseJsonl(r.text);
};

test('sft.jsonl lists the demonstrations the SFT job reads; include_imported=false and min_raters leave them out', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const A = await importGroup(srv, 'Capital of France?', ['Paris.', 'Lyon.'], 'train');
		const D = await importGroup(srv, 'Say hello', ['Hello!'], 'train');   // nobody rates it
		for (const [rater, scores] of [[ann, [5, 2]], [bob, [4, 2]]]) {
			const r = await rater.client.post('/api/ratings', {
				group_id: A.groupId, ratings: A.responseIds.map((id, i) => ({ response_id: id, score: scores[i] })),
			});
			assert.equal(r.status, 201, r.text);
		}
		const rows = (x) => x.map(({ completion, score, raters }) => ({ completion, score, raters }));
		// Paris 4.5 by two raters; "Hello!" a demonstration: no score, no raters
		assert.deepEqual(rows(await jsonl(srv, '/api/export/sft.jsonl?min_score=4')),
			[{ completion: 'Paris.', score: 4.5, raters: 2 }, { completion: 'Hello!', score: null, raters: 0 }]);
		assert.deepEqual(rows(await jsonl(srv, '/api/export/sft.jsonl?min_score=4&include_imported=true')),
			[{ completion: 'Paris.', score: 4.5, raters: 2 }, { completion: 'Hello!', score: null, raters: 0 }]);
		assert.deepEqual(rows(await jsonl(srv, '/api/export/sft.jsonl?min_score=4&include_imported=false')),
			[{ completion: 'Paris.', score: 4.5, raters: 2 }]);
		// asking for two raters who agree: a demonstration has none
		assert.deepEqual(rows(await jsonl(srv, '/api/export/sft.jsonl?min_score=1&min_raters=2')),
			[{ completion: 'Paris.', score: 4.5, raters: 2 }, { completion: 'Lyon.', score: 2, raters: 2 }]);
		assert.deepEqual(rows(await jsonl(srv, '/api/export/sft.jsonl?split=eval')), []);
		// demonstrations take part in no pair
		assert.deepEqual((await jsonl(srv, '/api/export/pairs.jsonl')).map((p) => [p.chosen, p.rejected]),
			[['Paris.', 'Lyon.']]);
		for (const bad of ['yes', '1', ''.padEnd(3, 'x')])
			assertError(await srv.admin.get(`/api/export/sft.jsonl?include_imported=${bad}`), 400, `include_imported=${bad}`);
	} finally { await srv.stop(); }
});

test('since picks the answers rated since then, with their mean over all their current ratings', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const G = await importGroup(srv, 'Pick one', ['x', 'y', 'z'], 'train');
		const [x, y, z] = G.responseIds;
		const rate = async (rater, ratings) => {
			const r = await rater.client.post('/api/ratings', { group_id: G.groupId, ratings });
			assert.equal(r.status, 201, r.text);
		};
		await rate(ann, [{ response_id: x, score: 5 }, { response_id: y, score: 1 }]);
		// ratings are stamped in whole seconds: let the clock pass into the next one
		const first = Math.floor(Date.now() / 1000);
		while (Math.floor(Date.now() / 1000) === first) await sleep(50);
		const since = Math.floor(Date.now() / 1000);
		await rate(bob, [{ response_id: x, score: 3 }, { response_id: z, score: 2 }]);
		// x: 5 and 3 → 4 (both current ratings, though only bob's is since); y: last rated
		// before since → out; z: 2.  One pair, x over z.
		const pairs = await jsonl(srv, `/api/export/pairs.jsonl?since=${since}`);
		assert.deepEqual(pairs.map((p) => [p.chosen_id, p.rejected_id, p.score_chosen, p.score_rejected]), [[x, z, 4, 2]]);
		const sft = await jsonl(srv, `/api/export/sft.jsonl?since=${since}&min_score=2`);
		assert.deepEqual(sft.map((s) => [s.response_id, s.score, s.raters]), [[x, 4, 2], [z, 2, 1]]);
		// without since: every rated answer, y too
		assert.equal((await jsonl(srv, '/api/export/pairs.jsonl')).length, 3);   // x>y, x>z, z>y
		// the ratings export keeps filtering ratings themselves: bob's two
		assert.deepEqual((await jsonl(srv, `/api/export/ratings.jsonl?since=${since}`)).map((r) => r.score), [3, 2]);
	} finally { await srv.stop(); }
});

let tiny;
before(() => { tiny = makeTinyModel(); });
after(() => tiny?.cleanup());

test('the DPO, reward and SFT jobs train on exactly the pairs and rows pairs.jsonl and sft.jsonl export for split=train', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 4, max_tokens: 8 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, max_tokens: 8, split: 'eval' }));
		// two raters per group; each rates by position in its own shuffled order, so
		// the means hold ties (1+5 = 3+3) and differences alike
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: 2 })).status, 200);
		const saved = (await rateAll(await createRater(srv, 'ann'))) + (await rateAll(await createRater(srv, 'bob')));
		assert.ok(saved > 0);
		await importDemos(srv, w.trainIds.slice(0, 3));   // after the rating: nobody rates them

		const trainPairs = await jsonl(srv, '/api/export/pairs.jsonl?split=train');
		const allPairs = await jsonl(srv, '/api/export/pairs.jsonl');
		assert.ok(trainPairs.length > 0);
		assert.ok(allPairs.length > trainPairs.length, 'the eval groups have pairs the jobs do not train on');

		const dj = await jobSucceeded(srv, await submitJob(srv, 'dpo', { epochs: 1 }));
		assert.equal(dj.metrics.pairs, trainPairs.length, 'dpo pairs = pairs.jsonl?split=train');
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1, heldout_frac: 0.25 }));
		assert.equal(rj.metrics.train_pairs + rj.metrics.heldout_pairs, trainPairs.length,
			'the pairs the reward trainer forms = pairs.jsonl?split=train');
		assert.equal(rj.metrics.groups, new Set(trainPairs.map((p) => p.group_id)).size);

		const sft = await jsonl(srv, '/api/export/sft.jsonl?split=train&min_score=3');
		const demos = sft.filter((s) => s.score === null);
		assert.equal(demos.length, 3);
		const sj = await jobSucceeded(srv, await submitJob(srv, 'sft', { epochs: 1, min_score: 3 }));
		assert.equal(sj.metrics.examples, sft.length, 'sft examples = sft.jsonl?split=train');
		assert.equal(sj.metrics.demonstrations, demos.length);
		assert.equal(sj.metrics.ratings, sft.reduce((n, s) => n + s.raters, 0), 'and the rating ids behind them');
	} finally { await w.stop(); }
});
