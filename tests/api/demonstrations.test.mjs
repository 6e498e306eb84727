/*
 * tests/api/demonstrations.test.mjs — "write a better answer": a rater's own
 * answer (POST /api/demonstrations) is stored as a response of origin human
 * in a group of its own, never handed out as a task, listed for admins
 * (GET /api/demonstrations), exported in sft.jsonl and trained on by the SFT
 * job — even with include_imported false, which leaves imported answers out.
 * Bad input changes nothing.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseJsonl } from '../lib/server.mjs';
import { createRater, importGroup, assertError, snapshot, assertUnchanged } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, importDemos } from '../lib/tiny_model.mjs';

const sftRows = async (srv, q = '') => {
	const r = await srv.admin.get('/api/export/sft.jsonl' + q);
	assert.equal(r.status, 200, r.text);
	return parseJsonl(r.text);
};

test('a demonstration is a response of origin human in its own group, listed for admins, never a task', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const G = await importGroup(srv, 'Capital of France?', ['Lyon.', 'Nice.'], 'train');
		const t = await ann.client.get('/api/tasks/next');
		assert.equal(t.status, 200, t.text);
		assert.equal(t.json.task.group_id, G.groupId);

		const d = await ann.client.post('/api/demonstrations', { group_id: G.groupId, text: 'Paris is the capital of France.' });
		assert.equal(d.status, 201, d.text);
		assert.equal(d.json.prompt_id, G.promptId);
		assert.notEqual(d.json.group_id, G.groupId, 'a group of its own');
		// on the prompt directly, by another rater
		const e = await bob.client.post('/api/demonstrations', { prompt_id: G.promptId, text: 'Paris.' });
		assert.equal(e.status, 201, e.text);

		// answers of the prompt with no model, each in its own group (origin and
		// author: sft.jsonl and the admin's list below)
		const pd = (await srv.admin.get(`/api/prompts/${G.promptId}`)).json;
		assert.deepEqual(pd.responses.map((r) => [r.id, r.group_id, r.model_id]), [
			[G.responseIds[0], G.groupId, null], [G.responseIds[1], G.groupId, null],
			[d.json.id, d.json.group_id, null], [e.json.id, e.json.group_id, null],
		]);

		// the admin's list, newest first, with rater, prompt and time
		const l = await srv.admin.get('/api/demonstrations');
		assert.equal(l.status, 200, l.text);
		assert.deepEqual(l.json.demonstrations.map((x) => [x.id, x.rater, x.rater_id, x.prompt, x.text, x.source_group_id, x.group_id]), [
			[e.json.id, 'bob', bob.id, 'Capital of France?', 'Paris.', null, e.json.group_id],
			[d.json.id, 'ann', ann.id, 'Capital of France?', 'Paris is the capital of France.', G.groupId, d.json.group_id],
		]);
		assert.match(l.json.demonstrations[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
		assert.equal(l.json.next_before, null);
		const p1 = await srv.admin.get('/api/demonstrations?limit=1');
		assert.deepEqual(p1.json.demonstrations.map((x) => x.id), [e.json.id]);
		assert.equal(p1.json.next_before, e.json.id);
		const p2 = await srv.admin.get(`/api/demonstrations?limit=1&before=${p1.json.next_before}`);
		assert.deepEqual(p2.json.demonstrations.map((x) => x.id), [d.json.id]);
		assert.equal(p2.json.next_before, null);
		assertError(await ann.client.get('/api/demonstrations'), 403, 'a rater lists demonstrations');
		assertError(await srv.admin.get('/api/demonstrations?limit=0'), 400, 'limit 0');

		// never a task: ann rates the group she holds, then nothing is left for
		// her or bob (ratings_per_group 1), though the two demonstration groups
		// have no rating
		const s = await ann.client.post('/api/ratings', { group_id: G.groupId, ratings: G.responseIds.map((id) => ({ response_id: id, score: 2 })) });
		assert.equal(s.status, 201, s.text);
		for (const who of [ann, bob]) {
			assert.equal((await who.client.get('/api/tasks/next')).status, 204, who.name);
			assert.equal((await who.client.get('/api/me')).json.remaining, 0, who.name);
		}

		// sft.jsonl: both demonstrations (no score), origin human; include_imported=false keeps them
		const want = [
			{ completion: 'Paris is the capital of France.', score: null, raters: 0, origin: 'human' },
			{ completion: 'Paris.', score: null, raters: 0, origin: 'human' },
		];
		const pick = (rows) => rows.map(({ completion, score, raters, origin }) => ({ completion, score, raters, origin }));
		assert.deepEqual(pick(await sftRows(srv, '?min_score=4')), want);
		assert.deepEqual(pick(await sftRows(srv, '?min_score=4&include_imported=false')), want);
		// and no pair: each sits alone in its group
		assert.deepEqual(parseJsonl((await srv.admin.get('/api/export/pairs.jsonl')).text), []);
	} finally { await srv.stop(); }
});

test('bad demonstrations are refused and change nothing', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'Say hi', ['hi'], 'train');
		const before = await snapshot(srv);
		const bad = [
			[{ group_id: G.groupId }, 400, 'no text'],
			[{ group_id: G.groupId, text: '' }, 400, 'empty text'],
			[{ group_id: G.groupId, text: ' \n\t ' }, 400, 'blank text'],
			[{ group_id: G.groupId, text: 42 }, 400, 'text a number'],
			[{ group_id: G.groupId, text: 'x'.repeat(20001) }, 400, 'text too long'],
			[{ text: 'hello' }, 400, 'no group or prompt'],
			[{ group_id: G.groupId, prompt_id: G.promptId, text: 'hello' }, 400, 'both ids'],
			[{ group_id: 'one', text: 'hello' }, 400, 'group id a string'],
			[{ group_id: 0, text: 'hello' }, 400, 'group id 0'],
			[{ group_id: 99999, text: 'hello' }, 404, 'unknown group'],
			[{ prompt_id: 99999, text: 'hello' }, 404, 'unknown prompt'],
		];
		for (const [body, status, what] of bad) {
			const r = await ann.client.post('/api/demonstrations', body);
			assertError(r, status, what);
			if (status === 400 && what.startsWith('text')) assert.equal(r.json.error.field, 'text', what);
		}
		assertError(await ann.client.post('/api/demonstrations', '{"group_id": 1, "text": ', { raw: true }), 400, 'bad json');
		assertError(await srv.client(null).post('/api/demonstrations', { group_id: G.groupId, text: 'x' }), 401, 'no token');
		await assertUnchanged(srv, before, 'bad demonstrations');
		const ok = await ann.client.post('/api/demonstrations', { group_id: G.groupId, text: 'x'.repeat(20000) });
		assert.equal(ok.status, 201, 'exactly the limit is fine');
	} finally { await srv.stop(); }
});

let tiny;
before(() => { tiny = makeTinyModel(); });
after(() => tiny && tiny.cleanup());

test('the SFT job trains on the demonstrations raters wrote, with or without include_imported', async () => {
	const w = await serverWithModel(tiny);
	const { srv } = w;
	try {
		const ann = await createRater(srv, 'ann');
		const texts = ['The capital is Paris.', 'I cannot help with that.', 'Here are three ideas.'];
		for (let i = 0; i < texts.length; i++) {
			const r = await ann.client.post('/api/demonstrations', { prompt_id: w.trainIds[i], text: texts[i] });
			assert.equal(r.status, 201, r.text);
		}
		// an eval prompt's demonstration: stored, but no SFT row of the train split
		assert.equal((await ann.client.post('/api/demonstrations', { prompt_id: w.evalIds[0], text: 'Eval answer.' })).status, 201);
		await importDemos(srv, w.trainIds.slice(5, 7));   // two imported ones

		// nothing is rated: the rows are exactly the demonstrations
		const all = await sftRows(srv, '?split=train');
		assert.deepEqual(all.map((r) => [r.completion, r.origin]).sort(), [
			...texts.map((t) => [t, 'human']),
			['The answer is a short and polite sentence.', 'import'], ['The answer is a short and polite sentence.', 'import'],
		].sort());
		const j1 = await jobSucceeded(srv, await submitJob(srv, 'sft', { epochs: 1, activate: false }));
		assert.equal(j1.metrics.examples, 5, JSON.stringify(j1.metrics));
		assert.equal(j1.metrics.demonstrations, 5);
		const j2 = await jobSucceeded(srv, await submitJob(srv, 'sft', { epochs: 1, activate: false, include_imported: false }));
		assert.equal(j2.metrics.examples, 3, 'the three written by the rater: ' + JSON.stringify(j2.metrics));
		assert.equal(j2.metrics.demonstrations, 3);
		assert.equal(j2.metrics.rated_examples, 0);
		assert.deepEqual((await sftRows(srv, '?split=train&include_imported=false')).map((r) => r.completion).sort(), [...texts].sort());
	} finally { await w.stop(); }
});

for (const durability of ['full', 'normal']) {
	test(`POST /api/ratings with "demonstration", alone or with ratings (--durability ${durability})`, async () => {
		const srv = await startServer({ args: ['--durability', durability] });
		try {
			const ann = await createRater(srv, 'ann');
			const G = await importGroup(srv, 'Capital of Chile?', ['Lima.', 'Santiago.'], 'train');
			// alone: no rating
			const a = await ann.client.post('/api/ratings', { group_id: G.groupId, demonstration: 'Santiago is the capital of Chile.' });
			assert.equal(a.status, 201, a.text);
			assert.equal(a.json.saved, 0);
			assert.equal(a.json.group_id, G.groupId);
			// with ratings: both stored
			const b = await ann.client.post('/api/ratings', {
				group_id: G.groupId, demonstration: 'Santiago.',
				ratings: [{ response_id: G.responseIds[0], score: 1 }, { response_id: G.responseIds[1], score: 5 }],
			});
			assert.equal(b.status, 201, b.text);
			assert.equal(b.json.saved, 2);
			const list = (await srv.admin.get('/api/demonstrations')).json.demonstrations;
			assert.deepEqual(list.map((d) => [d.id, d.text, d.source_group_id, d.rater]), [
				[b.json.demonstration_id, 'Santiago.', G.groupId, 'ann'],
				[a.json.demonstration_id, 'Santiago is the capital of Chile.', G.groupId, 'ann'],
			]);
			const ratings = parseJsonl((await srv.admin.get('/api/export/ratings.jsonl')).text);
			assert.deepEqual(ratings.map((r) => [r.response_id, r.score]), [[G.responseIds[0], 1], [G.responseIds[1], 5]]);

			// bad: nothing stored, neither the demonstration nor the ratings
			const before = await snapshot(srv);
			const nDemos = list.length;
			const bad = [
				[{ group_id: G.groupId, demonstration: '' }, 400, 'empty'],
				[{ group_id: G.groupId, demonstration: '  \n' }, 400, 'blank'],
				[{ group_id: G.groupId, demonstration: 7 }, 400, 'a number'],
				[{ group_id: G.groupId, demonstration: 'y'.repeat(20001) }, 400, 'too long'],
				[{ group_id: 99999, demonstration: 'x' }, 404, 'unknown group, alone'],
				[{ group_id: 99999, demonstration: 'x', ratings: [{ response_id: G.responseIds[0], score: 3 }] }, 404, 'unknown group, with ratings'],
				[{ group_id: G.groupId, demonstration: 'x', ratings: [{ response_id: 99999, score: 3 }] }, 404, 'unknown response'],
				[{ group_id: G.groupId, demonstration: 'x', ratings: [{ response_id: G.responseIds[0], score: 9 }] }, 400, 'bad score'],
				[{ group_id: G.groupId, demonstration: 'x', ratings: [] }, 400, 'empty ratings'],
				[{ group_id: G.groupId }, 400, 'neither'],
				[{ group_id: G.groupId, demonstration: 'x', ranking: [[G.responseIds[1]], [G.responseIds[0]]] }, 400, 'with a ranking'],
				[{ group_id: G.groupId, demonstration: 'x', pair: { better: G.responseIds[1], worse: G.responseIds[0] } }, 400, 'with a pair'],
			];
			for (const [body, status, what] of bad) assertError(await ann.client.post('/api/ratings', body), status, what);
			await assertUnchanged(srv, before, 'bad demonstrations with ratings');
			assert.equal((await srv.admin.get('/api/demonstrations')).json.demonstrations.length, nDemos);
		} finally { await srv.stop(); }
	});
}
