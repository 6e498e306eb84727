/*
 * tests/api/conversations.test.mjs — conversation prompts ({"messages": [...]}
 * instead of text): created through JSON and NDJSON, read back by
 * GET /api/prompts/{id} and /api/tasks/next, bad shapes refused with 400 and
 * nothing stored, the exports (ratings.jsonl, pairs.jsonl, sft.jsonl) carry
 * the messages beside the prompt (a rank or pair judgement's pairs too), and the tiny model answers a conversation
 * through its template turn by turn: greedy answers to a conversation equal
 * those to the plain prompt whose single-turn formatting is, by hand, the same
 * transcript, and a conversation too long for the context is skipped even
 * though its last message is short.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, parseJsonl, randomToken } from '../lib/server.mjs';
import { createRater, assertError, snapshot, assertUnchanged } from '../lib/fixtures.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll, rlhfd } from '../lib/tiny_model.mjs';

const CHAT = [
	{ role: 'system', content: 'Answer in one sentence.' },
	{ role: 'user', content: 'What is the capital of Peru?' },
	{ role: 'assistant', content: 'The capital of Peru is Lima.' },
	{ role: 'user', content: 'And of <b>Chile</b>?' },
];

test('a conversation prompt is stored as given, its text the last user message; NDJSON too', async () => {
	const srv = await startServer();
	try {
		const r = await srv.admin.post('/api/prompts', { prompts: [{ messages: CHAT, split: 'eval' }, { text: 'plain' }] });
		assert.equal(r.status, 201, r.text);
		const [cid, pid] = r.json.ids;
		const c = await srv.admin.get(`/api/prompts/${cid}`);
		assert.equal(c.status, 200, c.text);
		assert.deepEqual(c.json.messages, CHAT);
		assert.equal(c.json.text, 'And of <b>Chile</b>?');
		assert.equal(c.json.split, 'eval');
		const p = await srv.admin.get(`/api/prompts/${pid}`);
		assert.equal(p.json.messages, null);
		assert.equal(p.json.text, 'plain');

		// only role and content are kept
		const extra = await srv.admin.post('/api/prompts', { prompts: [{ messages: [{ role: 'user', content: 'hi', name: 'x' }] }] });
		assert.equal(extra.status, 201, extra.text);
		assert.deepEqual((await srv.admin.get(`/api/prompts/${extra.json.ids[0]}`)).json.messages, [{ role: 'user', content: 'hi' }]);

		const body = JSON.stringify({ messages: [{ role: 'user', content: 'one' }, { role: 'assistant', content: 'two' }, { role: 'user', content: 'three' }] }) + '\n' +
			JSON.stringify({ prompt: 'four' }) + '\n';
		const nd = await srv.admin.post('/api/prompts', body, { raw: true, contentType: 'application/x-ndjson' });
		assert.equal(nd.status, 201, nd.text);
		const n1 = (await srv.admin.get(`/api/prompts/${nd.json.ids[0]}`)).json;
		assert.equal(n1.text, 'three');
		assert.equal(n1.source, 'jsonl');
		assert.deepEqual(n1.messages.map((m) => m.content), ['one', 'two', 'three']);
		assert.equal((await srv.admin.get(`/api/prompts/${nd.json.ids[1]}`)).json.messages, null);
	} finally {
		await srv.stop();
	}
});

test('bad conversations are refused with 400 naming the field, and change nothing', async () => {
	const srv = await startServer();
	try {
		await srv.admin.post('/api/prompts', { prompts: [{ text: 'already here' }] });
		const before = await snapshot(srv);
		const u = (content) => ({ role: 'user', content });
		const a = (content) => ({ role: 'assistant', content });
		const cases = [
			[[], 'prompts[0].messages'],
			['hi', 'prompts[0].messages'],
			[[u('hi'), 'x'], 'prompts[0].messages[1]'],
			[[{ role: 'robot', content: 'hi' }], 'prompts[0].messages[0].role'],
			[[{ content: 'hi' }], 'prompts[0].messages[0].role'],
			[[{ role: 'user' }], 'prompts[0].messages[0].content'],
			[[{ role: 'user', content: 5 }], 'prompts[0].messages[0].content'],
			[[u('')], 'prompts[0].messages[0].content'],
			[[u(' \n\t')], 'prompts[0].messages[0].content'],
			[[u('hi'), a('hello')], 'prompts[0].messages'],                    // last not from the user
			[[{ role: 'system', content: 'S' }], 'prompts[0].messages'],        // nothing but a system message
			[[u('hi'), { role: 'system', content: 'S' }, u('x')], 'prompts[0].messages[1].role'],
			[[u('hi'), u('again')], 'prompts[0].messages[1].role'],             // two user turns in a row
			[[a('first'), u('hi')], 'prompts[0].messages[0].role'],
			[Array.from({ length: 65 }, (_, i) => (i % 2 ? a('a') : u('u'))), 'prompts[0].messages'],
			[[u('x'.repeat(700000)), a('y'.repeat(400000)), u('z')], 'prompts[0].messages'],
		];
		for (const [messages, field] of cases) {
			const r = await srv.admin.post('/api/prompts', { prompts: [{ messages, split: 'train' }] });
			assertError(r, 400, JSON.stringify(messages).slice(0, 80));
			assert.ok(r.json.error.message.includes(`'${field}'`), `${field}: ${r.text.slice(0, 300)}`);
		}
		// both a text and messages
		assertError(await srv.admin.post('/api/prompts', { prompts: [{ text: 'x', messages: [u('hi')] }] }), 400, 'text and messages');
		assertError(await srv.admin.post('/api/prompts', { prompts: [{ prompt: 'x', messages: [u('hi')] }] }), 400, 'prompt and messages');
		// a good prompt before a bad one is not stored either (all or nothing)
		assertError(await srv.admin.post('/api/prompts', { prompts: [{ messages: [u('fine')] }, { messages: [a('bad')] }] }), 400, 'second bad');
		const nd = JSON.stringify({ messages: [u('fine')] }) + '\n' + JSON.stringify({ messages: [u('a'), u('b')] }) + '\n';
		const r = await srv.admin.post('/api/prompts', nd, { raw: true, contentType: 'application/x-ndjson' });
		assertError(r, 400, 'ndjson');
		assert.match(r.json.error.message, /line 2\.messages\[1\]\.role/);
		// exactly 64 messages is fine (the cap is inclusive) — checked last, after the unchanged state
		await assertUnchanged(srv, before, 'the refused conversations');
		const max = Array.from({ length: 63 }, (_, i) => (i % 2 ? a('a') : u('u')));
		const ok = await srv.admin.post('/api/prompts', { prompts: [{ messages: [{ role: 'system', content: 'S' }, ...max] }] });
		assert.equal(ok.status, 201, ok.text);
	} finally {
		await srv.stop();
	}
});

test('tasks, rating history and the exports carry the messages beside the prompt', async () => {
	const srv = await startServer();
	try {
		const p = await srv.admin.post('/api/prompts', { prompts: [{ messages: CHAT }, { text: 'What is 2+2?' }] });
		assert.equal(p.status, 201, p.text);
		for (const id of p.json.ids) {
			const g = await srv.admin.post(`/api/prompts/${id}/responses`, { responses: ['Santiago.', 'Lima.', 'Quito.'] });
			assert.equal(g.status, 201, g.text);
		}
		const ann = await createRater(srv, 'ann');
		const seen = [];
		for (;;) {
			const t = await ann.client.get('/api/tasks/next');
			if (t.status === 204) break;
			const task = t.json.task;
			seen.push(task);
			const score = { 'Santiago.': 5, 'Lima.': 2, 'Quito.': 1 };
			const s = await ann.client.post('/api/ratings', { group_id: task.group_id,
				ratings: task.responses.map((x) => ({ response_id: x.id, score: score[x.text] })) });
			assert.equal(s.status, 201, s.text);
		}
		assert.equal(seen.length, 2);
		const chatTask = seen.find((t) => t.prompt_id === p.json.ids[0]);
		const plainTask = seen.find((t) => t.prompt_id === p.json.ids[1]);
		assert.deepEqual(chatTask.messages, CHAT);
		assert.equal(chatTask.prompt, 'And of <b>Chile</b>?');
		assert.equal(plainTask.messages, null);

		const mine = await ann.client.get('/api/ratings/mine');
		assert.equal(mine.status, 200, mine.text);
		const mg = mine.json.groups.find((g) => g.prompt_id === p.json.ids[0]);
		assert.deepEqual(mg.messages, CHAT);

		const get = async (u) => { const r = await srv.admin.get(u); assert.equal(r.status, 200, r.text); return parseJsonl(r.text); };
		const ratings = await get('/api/export/ratings.jsonl');
		assert.equal(ratings.length, 6);
		for (const row of ratings)
			assert.deepEqual(row.messages, row.prompt_id === p.json.ids[0] ? CHAT : null, JSON.stringify(row));
		// pairs: per group 3 pairs (5>2, 5>1, 2>1)
		const pairs = await get('/api/export/pairs.jsonl');
		assert.equal(pairs.length, 6);
		const chatPairs = pairs.filter((x) => x.prompt_id === p.json.ids[0]);
		assert.equal(chatPairs.length, 3);
		for (const row of chatPairs) {
			assert.deepEqual(row.messages, CHAT);
			assert.equal(row.prompt, 'And of <b>Chile</b>?');
		}
		assert.ok(pairs.filter((x) => x.prompt_id === p.json.ids[1]).every((x) => x.messages === null));
		const sft = await get('/api/export/sft.jsonl?min_score=4');
		assert.deepEqual(sft.map((x) => [x.completion, x.messages]).sort(),
			[['Santiago.', CHAT], ['Santiago.', null]].sort());
	} finally {
		await srv.stop();
	}
});

test('a conversation prompt with a task kind: rank and pair tasks, judgements and pairs.jsonl carry the messages', async () => {
	const srv = await startServer();
	try {
		const PAIR_CHAT = [{ role: 'user', content: 'Largest planet?' }, { role: 'assistant', content: 'Jupiter.' },
			{ role: 'user', content: 'And the smallest?' }];
		const p = await srv.admin.post('/api/prompts', { prompts: [
			{ messages: CHAT, task_kind: 'rank' }, { messages: PAIR_CHAT, task_kind: 'pair' }] });
		assert.equal(p.status, 201, p.text);
		const [rankId, pairId] = p.json.ids;
		const got = (await srv.admin.get(`/api/prompts/${rankId}`)).json;
		assert.equal(got.task_kind, 'rank');
		assert.deepEqual(got.messages, CHAT);
		const resp = {};
		for (const id of p.json.ids) {
			const g = await srv.admin.post(`/api/prompts/${id}/responses`, { responses: ['Santiago.', 'Lima.', 'Quito.'] });
			assert.equal(g.status, 201, g.text);
			resp[id] = g.json;
		}
		const ann = await createRater(srv, 'ann');
		const tasks = {};
		const byText = {};
		for (;;) {
			const t = await ann.client.get('/api/tasks/next');
			if (t.status === 204) break;
			const task = t.json.task;
			tasks[task.prompt_id] = task;
			for (const x of task.responses) byText[`${task.prompt_id}:${x.text}`] = x.id;
			const id = (txt) => byText[`${task.prompt_id}:${txt}`];
			const body = task.task_kind === 'rank'
				? { group_id: task.group_id, ranking: [id('Santiago.'), id('Lima.'), id('Quito.')] }
				: { group_id: task.group_id, pair: { a: task.pair[0], b: task.pair[1], verdict: 'a', strength: 2 } };
			const s = await ann.client.post('/api/ratings', body);
			assert.equal(s.status, 201, s.text);
		}
		assert.equal(tasks[rankId].task_kind, 'rank');
		assert.deepEqual(tasks[rankId].messages, CHAT);
		assert.equal(tasks[rankId].prompt, 'And of <b>Chile</b>?');
		assert.equal(tasks[pairId].task_kind, 'pair');
		assert.deepEqual(tasks[pairId].messages, PAIR_CHAT);
		assert.equal(tasks[pairId].prompt, 'And the smallest?');
		const [a, b] = tasks[pairId].pair;
		assert.deepEqual(tasks[pairId].responses.map((x) => x.id), [a, b]);

		// the rate page's "previous": the judged groups with their conversations
		const mine = (await ann.client.get('/api/ratings/mine')).json.groups;
		assert.deepEqual(mine.map((g) => [g.prompt_id, g.judgement.kind, g.messages]).sort((x, y) => x[0] - y[0]),
			[[rankId, 'rank', CHAT], [pairId, 'pair', PAIR_CHAT]]);

		// Santiago > Lima > Quito: three pairs, margins the tiers apart (1, 2, 1);
		// the pair task's "a" by 2: one pair, margin 2; all of them ann's
		const rid = (txt) => byText[`${rankId}:${txt}`];
		const r = await srv.admin.get('/api/export/pairs.jsonl');
		assert.equal(r.status, 200, r.text);
		const pairs = parseJsonl(r.text);
		assert.deepEqual(pairs.map((x) => [x.chosen_id, x.rejected_id, x.kind, x.margin, x.rater_id, x.messages])
			.sort((x, y) => x[0] - y[0] || x[1] - y[1]), [
			[rid('Santiago.'), rid('Lima.'), 'rank', 1, ann.id, CHAT],
			[rid('Santiago.'), rid('Quito.'), 'rank', 2, ann.id, CHAT],
			[rid('Lima.'), rid('Quito.'), 'rank', 1, ann.id, CHAT],
			[a, b, 'pair', 2, ann.id, PAIR_CHAT],
		].sort((x, y) => x[0] - y[0] || x[1] - y[1]));
		for (const x of pairs)
			assert.equal(x.prompt, x.prompt_id === rankId ? 'And of <b>Chile</b>?' : 'And the smallest?');
	} finally {
		await srv.stop();
	}
});

let tiny;
before(() => { tiny = makeTinyModel({ seq: 128 }); });
after(() => tiny?.cleanup());

test('the tiny model reads a conversation through its template, turn by turn: generate, reward, score', async () => {
	const w = await serverWithModel(tiny);
	const { srv } = w;
	try {
		// a system message too long for the context of 128 with its template:
		// skipped, though its last message alone ("Name a capital") is answered
		const long = Array.from({ length: 12 }, () => 'the capital of Peru is Lima').join(', ');
		const chatTurns = [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Name a capital' }];
		const r = await srv.admin.post('/api/prompts', { prompts: [
			{ messages: [{ role: 'system', content: long }, { role: 'user', content: 'Name a capital' }] },
			{ text: 'Name a capital' },
			{ messages: chatTurns },
		] });
		assert.equal(r.status, 201, r.text);
		const [tooLong, plainShort, chat] = r.json.ids;
		const job = await jobSucceeded(srv, await submitJob(srv, 'generate',
			{ prompt_ids: [tooLong, plainShort], k: 1, temperature: 0, max_tokens: 8 }));
		assert.equal(job.metrics.skipped, 1, JSON.stringify(job.metrics));
		const answers = async (id) => (await srv.admin.get(`/api/prompts/${id}`)).json.responses;
		assert.deepEqual(await answers(tooLong), []);
		assert.equal((await answers(plainShort)).length, 1);

		// a reward model trained on rated answers, the conversation's among them
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: [chat, ...w.trainIds], k: 3, max_tokens: 8 }));
		assert.equal((await answers(chat)).length, 3);
		assert.ok(await rateAll(await createRater(srv, 'ann')) >= 3 * 17);

		// then the same answers to three unrated eval prompts: the conversation,
		// the plain text whose single-turn formatting is by hand the same
		// transcript, and its last message alone.  The score job reads them
		// through the template: the first two are the same tokens, the third not.
		const same = 'Hi there\nAssistant: Hello!\nUser: Name a capital';
		const e = await srv.admin.post('/api/prompts', { prompts: [
			{ messages: chatTurns, split: 'eval' }, { text: same, split: 'eval' }, { text: 'Name a capital', split: 'eval' }] });
		assert.equal(e.status, 201, e.text);
		for (const id of e.json.ids) {
			const g = await srv.admin.post(`/api/prompts/${id}/responses`, { responses: ['Lima.', 'The capital of Chile is Santiago.'] });
			assert.equal(g.status, 201, g.text);
		}
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);
		const [c, s, l] = await Promise.all(e.json.ids.map(async (id) => (await answers(id)).map((x) => x.rm_score)));
		for (let i = 0; i < 2; i++) {
			assert.ok(Number.isFinite(c[i]) && Number.isFinite(s[i]) && Number.isFinite(l[i]), JSON.stringify([c, s, l]));
			assert.ok(Math.abs(c[i] - s[i]) < 1e-5, `same transcript, same score: ${JSON.stringify([c, s])}`);
			assert.ok(Math.abs(c[i] - l[i]) > 1e-4, `the earlier turns count: ${JSON.stringify([c, l])}`);
		}
	} finally {
		await w.stop();
	}
});

test("a model's own system template (import-model --system-template) writes the system message", async () => {
	const dataDir = mkdtempSync(path.join(tmpdir(), 'rlhfd-conv-'));
	let srv;
	try {
		assert.throws(() => rlhfd(['import-model', '--data', dataDir, '--model', tiny.base, '--tokenizer', tiny.tok,
			'--system-template', 'no placeholder']), /has no \{system\}/);
		// a system template longer than the context of 128 tokens: a
		// conversation with a system message has no room left, one without has
		const filler = Array.from({ length: 12 }, () => 'the capital of Peru is Lima').join(', ');
		const out = rlhfd(['import-model', '--data', dataDir, '--model', tiny.base, '--tokenizer', tiny.tok,
			'--system-template', `${filler}: {system}\n`, '--activate']);
		assert.match(out, /^model_id=1$/m);
		srv = await startServer({ dataDir, adminToken: randomToken() });
		const r = await srv.admin.post('/api/prompts', { prompts: [
			{ messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Peru?' }] },
			{ messages: [{ role: 'user', content: 'Peru?' }] },
		] });
		assert.equal(r.status, 201, r.text);
		const job = await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: r.json.ids, k: 1, temperature: 0, max_tokens: 8 }));
		assert.equal(job.metrics.skipped, 1, JSON.stringify(job.metrics));
		const n = async (id) => (await srv.admin.get(`/api/prompts/${id}`)).json.responses.length;
		assert.deepEqual([await n(r.json.ids[0]), await n(r.json.ids[1])], [0, 1]);
	} finally {
		await srv?.stop();
		rmSync(dataDir, { recursive: true, force: true });
	}
});
