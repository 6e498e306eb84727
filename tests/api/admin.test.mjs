/*
 * tests/api/admin.test.mjs — the admin's whole flow: raters, importing prompts
 * (JSON and NDJSON, with and without answers), answers as groups, listing with
 * pagination, prompt detail, stats, config, and the four exports, whose contents
 * are checked against what this test itself inserted and rated.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer, parseJsonl, parseCsv } from '../lib/server.mjs';
import { createRater, importGroup, allPrompts, assertError, promptDetail, mean, assertHas } from '../lib/fixtures.mjs';

test('raters: create rater and admin, token shown once, list with counts', async () => {
	const srv = await startServer();
	try {
		const a = await srv.admin.post('/api/raters', { name: 'ann', role: 'rater' });
		assert.equal(a.status, 201, a.text);
		for (const k of ['id', 'name', 'role', 'token']) assert.ok(k in a.json, `created rater has '${k}'`);
		assert.equal(a.json.name, 'ann');
		assert.equal(a.json.role, 'rater');
		assert.ok(Number.isInteger(a.json.id));
		const b = await srv.admin.post('/api/raters', { name: 'Bea "the boss", admin', role: 'admin' });
		assert.equal(b.status, 201, b.text);
		assert.equal(b.json.role, 'admin');
		assert.notEqual(a.json.token, b.json.token);

		const list = await srv.admin.get('/api/raters');
		assert.equal(list.status, 200);
		const byName = Object.fromEntries(list.json.raters.map((r) => [r.name, r]));
		assertHas(byName.ann, { id: a.json.id, name: 'ann', role: 'rater', ratings: 0 }, 'listed rater');
		assert.equal(byName['Bea "the boss", admin'].role, 'admin');
		assert.ok(!list.text.includes(a.json.token), 'the list never shows tokens');
		assert.ok(list.json.raters.every((r) => !('token' in r)));

		// Both new tokens work, with their roles.
		assert.equal((await srv.client(a.json.token).get('/api/tasks/next')).status, 204);
		assert.equal((await srv.client(a.json.token).get('/api/raters')).status, 403);
		assert.equal((await srv.client(b.json.token).get('/api/raters')).status, 200);
	} finally { await srv.stop(); }
});

test('prompts: JSON and NDJSON import, answers as groups, pagination and detail', async () => {
	const srv = await startServer();
	try {
		// JSON import with split and meta.
		const j = await srv.admin.post('/api/prompts', { prompts: [
			{ text: 'What is the capital of France?', split: 'train', meta: { source: 'quiz' } },
			{ text: 'Write a haiku about rain.', split: 'eval' },
			{ text: 'Multi\nline, "quoted" prompt ✓' },
		] });
		assert.equal(j.status, 201, j.text);
		assert.equal(j.json.inserted, 3);
		assert.equal(j.json.ids.length, 3);
		assert.ok(j.json.ids.every(Number.isInteger));
		assert.equal(new Set(j.json.ids).size, 3);

		// NDJSON import: "prompt" or "text" keys, and lines carrying answers.
		const nd = [
			JSON.stringify({ prompt: 'nd one' }),
			JSON.stringify({ text: 'nd two' }),
			'',
			JSON.stringify({ prompt: 'nd three with answers', responses: ['ans 1', 'ans 2', 'ans 3'] }),
		].join('\n') + '\n';
		const n = await srv.admin.post('/api/prompts', nd, { raw: true, contentType: 'application/x-ndjson' });
		assert.equal(n.status, 201, n.text);
		assert.equal(n.json.inserted, 3);
		assert.equal(n.json.ids.length, 3);

		// Answers imported onto an existing prompt form one group; a second import another.
		const pid = j.json.ids[0];
		const g1 = await srv.admin.post(`/api/prompts/${pid}/responses`, { responses: [{ text: 'Paris.', model: 'gpt-x' }, { text: 'Lyon.' }] });
		assert.equal(g1.status, 201, g1.text);
		assert.equal(g1.json.ids.length, 2);
		assert.ok(Number.isInteger(g1.json.group_id));
		const g2 = await srv.admin.post(`/api/prompts/${pid}/responses`, { responses: [{ text: 'It is Paris.' }] });
		assert.equal(g2.status, 201, g2.text);
		assert.notEqual(g2.json.group_id, g1.json.group_id);

		const d = await promptDetail(srv, pid);
		assert.equal(d.id, pid);
		assert.equal(d.text, 'What is the capital of France?');
		assert.equal(d.split, 'train');
		assert.equal(d.responses.length, 3);
		const byId = Object.fromEntries(d.responses.map((r) => [r.id, r]));
		assert.equal(byId[g1.json.ids[0]].text, 'Paris.');
		assert.equal(byId[g1.json.ids[0]].group_id, g1.json.group_id);
		assert.equal(byId[g1.json.ids[1]].group_id, g1.json.group_id);
		assert.equal(byId[g2.json.ids[0]].group_id, g2.json.group_id);
		for (const r of d.responses) {
			assert.deepEqual(r.ratings, []);
			assert.equal(r.mean_score, null);
			assert.ok('model_id' in r);
			assert.equal(r.rm_score, null, 'no reward-model score before a score job');
			assert.equal(r.rm_model_id, null);
		}

		const nd3 = await promptDetail(srv, n.json.ids[2]);
		assert.equal(nd3.text, 'nd three with answers');
		assert.deepEqual(nd3.responses.map((r) => r.text).sort(), ['ans 1', 'ans 2', 'ans 3']);
		assert.equal(new Set(nd3.responses.map((r) => r.group_id)).size, 1, 'one group per NDJSON line');

		// Listing: every prompt once, in id order, counts per prompt, split filter.
		const all = await allPrompts(srv);
		assert.deepEqual(all.map((p) => p.id), [...j.json.ids, ...n.json.ids].sort((a, b) => a - b));
		const first = all.find((p) => p.id === pid);
		assert.equal(first.responses, 3);
		assert.equal(first.ratings, 0);
		assert.equal(first.text, 'What is the capital of France?');
		assert.equal(all.find((p) => p.id === j.json.ids[2]).text, 'Multi\nline, "quoted" prompt ✓');
		const evals = await allPrompts(srv, 'split=eval');
		assert.deepEqual(evals.map((p) => p.id), [j.json.ids[1]]);

		// Pagination by 2: pages chain with next_after and cover everything exactly once.
		const seen = [];
		let after = null, pages = 0;
		for (;;) {
			const r = await srv.admin.get(`/api/prompts?limit=2${after !== null ? `&after=${after}` : ''}`);
			assert.equal(r.status, 200, r.text);
			assert.ok(r.json.prompts.length <= 2);
			seen.push(...r.json.prompts.map((p) => p.id));
			pages++;
			if (r.json.next_after === null || r.json.next_after === undefined) break;
			assert.equal(r.json.next_after, r.json.prompts[r.json.prompts.length - 1].id);
			after = r.json.next_after;
			assert.ok(pages < 10);
		}
		assert.deepEqual(seen, all.map((p) => p.id));
		assert.equal(pages, 3);

		const st = await srv.admin.get('/api/stats');
		assert.equal(st.json.prompts, 6);
		assert.equal(st.json.responses, 6);
		assert.equal(st.json.ratings, 0);
		assert.deepEqual(st.json.score_histogram, [0, 0, 0, 0, 0]);
	} finally { await srv.stop(); }
});

test('config: GET has the documented keys, PUT merges and validates', async () => {
	const srv = await startServer();
	try {
		const g = await srv.admin.get('/api/config');
		assert.equal(g.status, 200);
		assert.equal(g.json.ratings_per_group, 1);
		assert.equal(typeof g.json.lease_seconds, 'number');
		assert.equal(typeof g.json.max_body_bytes, 'number');
		assert.equal(typeof g.json.auto_train, 'object');
		assert.equal(typeof g.json.auto_train.enabled, 'boolean');

		const p = await srv.admin.put('/api/config', { ratings_per_group: 3 });
		assert.equal(p.status, 200, p.text);
		assert.deepEqual(p.json, { ...g.json, ratings_per_group: 3 });
		const p2 = await srv.admin.put('/api/config', { lease_seconds: 42 });
		assert.equal(p2.status, 200, p2.text);
		assert.deepEqual(p2.json, { ...g.json, ratings_per_group: 3, lease_seconds: 42 });
		const again = await srv.admin.get('/api/config');
		assert.deepEqual(again.json, p2.json);

		for (const [body, field] of [
			[{ ratings_per_group: 0 }, 'ratings_per_group'], [{ ratings_per_group: '2' }, 'ratings_per_group'],
			[{ ratings_per_group: 1.5 }, 'ratings_per_group'], [{ lease_seconds: -5 }, 'lease_seconds'],
			[{ lease_seconds: 'x' }, 'lease_seconds'], [{ auto_train: 3 }, 'auto_train'],
			[{ ratings_per_group: 2, lease_seconds: 0 }, 'lease_seconds'],
		]) {
			const r = await srv.admin.put('/api/config', body);
			assertError(r, 400, `PUT ${JSON.stringify(body)}`);
			assert.ok(r.json.error.message.includes(field), `message names '${field}': ${r.json.error.message}`);
		}
		assert.deepEqual((await srv.admin.get('/api/config')).json, p2.json, 'bad PUTs changed nothing (not even half of a mixed body)');
	} finally { await srv.stop(); }
});

test('config: an auto_train setting the loop\'s next job would refuse is a 400 and changes nothing', async () => {
	const srv = await startServer();
	try {
		const { kinds } = (await srv.admin.get('/api/jobs/kinds')).json;
		const kind = (name) => kinds.find((k) => k.name === name);
		const param = (name, p) => kind(name).params.find((x) => x.name === p);
		const before = (await srv.admin.get('/api/config')).json;
		const k = param('generate', 'k');
		assert.equal(k.max, 16, 'a generate job takes at most GEN_MAX_K (server/worker/gen.h) answers per prompt');
		const epochs = param('reward', 'epochs'), heldout = param('reward', 'heldout_frac');
		// a key ppo takes and dpo does not (the RL kinds share theirs)
		assert.ok(param('ppo', 'kl_beta') && !param('dpo', 'kl_beta'));
		const cases = [
			[{ generate_k: k.max + 1 }, 'auto_train.generate_k'],
			[{ generate_k: k.min - 1 }, 'auto_train.generate_k'],
			[{ generate_prompts: -1 }, 'auto_train.generate_prompts'],
			[{ rl_kind: 'sft' }, 'auto_train.rl_kind'],
			[{ rl_kind: 'dpo', rl_params: { kl_beta: 0.1 } }, 'auto_train.rl_params.kl_beta'],
			[{ rl_params: { bogus: 1 } }, 'auto_train.rl_params.bogus'],
			[{ reward_params: { epochs: epochs.min - 1 } }, 'auto_train.reward_params.epochs'],
			[{ reward_params: { epochs: epochs.max + 1 } }, 'auto_train.reward_params.epochs'],
			[{ reward_params: { heldout_frac: heldout.max + 0.01 } }, 'auto_train.reward_params.heldout_frac'],
			[{ reward_params: { auto: true } }, 'auto_train.reward_params.auto'],
		];
		for (const [at, field] of cases) {
			const r = await srv.admin.put('/api/config', { auto_train: at });
			assertError(r, 400, JSON.stringify(at));
			assert.equal(r.json.error.field, field, JSON.stringify(at));
			assert.ok(r.json.error.message.includes(field), r.json.error.message);
		}
		assert.deepEqual((await srv.admin.get('/api/config')).json, before, 'nothing changed');

		// the edges the jobs take are taken
		const ok = await srv.admin.put('/api/config', { auto_train: { generate_k: k.max, rl_kind: 'ppo', rl_params: { kl_beta: 0.1 },
			reward_params: { epochs: epochs.max } } });
		assert.equal(ok.status, 200, ok.text);
		assert.equal(ok.json.auto_train.generate_k, k.max);
		// rl_params are checked against the rl_kind they will run with: the stored
		// kl_beta makes a switch to dpo a 400, switching both at once is fine
		const sw = await srv.admin.put('/api/config', { auto_train: { rl_kind: 'dpo' } });
		assertError(sw, 400, 'rl_kind dpo with a ppo-only rl_params key stored');
		assert.equal(sw.json.error.field, 'auto_train.rl_params.kl_beta');
		const both = await srv.admin.put('/api/config', { auto_train: { rl_kind: 'dpo', rl_params: { beta: 0.2 } } });
		assert.equal(both.status, 200, both.text);
		assert.deepEqual(both.json.auto_train, { ...before.auto_train, generate_k: k.max, rl_kind: 'dpo', rl_params: { beta: 0.2 },
			reward_params: { epochs: epochs.max } });
	} finally { await srv.stop(); }
});

/*
 * The export fixture: three prompts, one group each, rated by three raters with
 * scores chosen so that means, ties and thresholds are known by hand.
 */
async function exportFixture(srv) {
	const raters = [await createRater(srv, 'ann'), await createRater(srv, 'bob'), await createRater(srv, 'cy, "the third"')];
	const tricky = 'Line one\nline two, with a comma and "quotes"\r\nand a tab\there';
	const A = await importGroup(srv, 'Capital of France?', [{ text: 'Paris.', model: 'm-alpha' }, { text: 'Lyon.', model: 'm-beta' }, { text: 'A question? What is the capital of Spain?', model: 'm-alpha' }], 'train');
	const B = await importGroup(srv, 'Poem, "short"', [{ text: tricky }, { text: 'roses are red' }], 'eval');
	const C = await importGroup(srv, 'Unrated prompt', ['never rated 1', 'never rated 2'], 'train');
	// Scores per answer (rater order ann, bob, cy); null = not rated by that rater.
	const plan = [
		[A, 0, [5, 4, null]],   // Paris: mean 4.5
		[A, 1, [2, 2, null]],   // Lyon: mean 2
		[A, 2, [2, 2, null]],   // question: mean 2 (tie with Lyon → no pair)
		[B, 0, [4, null, 3]],   // tricky: mean 3.5
		[B, 1, [1, null, 2]],   // roses: mean 1.5
	];
	const extra = { helpful: 5, honest: 4, harmless: 3, comment: 'He said "no", then, well,\nleft', flags: ['unsafe'] };
	for (let ri = 0; ri < 3; ri++) {
		for (const G of [A, B]) {
			const ratings = plan.filter(([g, , s]) => g === G && s[ri] !== null)
				.map(([g, idx, s]) => ({ response_id: g.responseIds[idx], score: s[ri], ...(ri === 0 && g === B && idx === 0 ? extra : {}) }));
			if (!ratings.length) continue;
			const r = await raters[ri].client.post('/api/ratings', { group_id: G.groupId, ratings });
			assert.equal(r.status, 201, r.text);
			assert.equal(r.json.saved, ratings.length);
		}
	}
	return { raters, A, B, C, plan, tricky, extra };
}

test('stats and the four exports match the ratings this test stored', async () => {
	const srv = await startServer();
	try {
		const { raters, A, B, C, plan, tricky, extra } = await exportFixture(srv);
		const all = []; // every expected current rating
		for (const [G, idx, s] of plan) s.forEach((score, ri) => {
			if (score !== null) all.push({ G, idx, ri, score });
		});

		// ---- stats
		const st = (await srv.admin.get('/api/stats')).json;
		assert.equal(st.prompts, 3);
		assert.equal(st.responses, 7);
		assert.equal(st.ratings, all.length);            // 10
		const everyone = (await srv.admin.get('/api/raters')).json.raters;
		assert.ok([everyone.length, everyone.filter((r) => r.role === 'rater').length].includes(st.raters), `raters count ${st.raters}`);
		const hist = [0, 0, 0, 0, 0];
		for (const x of all) hist[x.score - 1]++;
		assert.deepEqual(st.score_histogram, hist);      // [1, 5, 1, 2, 1]
		const per = Object.fromEntries(st.per_rater.map((r) => [r.name, r.ratings]));
		assert.equal(per.ann, 5);
		assert.equal(per.bob, 3);
		assert.equal(per['cy, "the third"'], 2);

		// ---- ratings.jsonl: one line per current rating, every field
		const lines = parseJsonl((await srv.admin.get('/api/export/ratings.jsonl')).text);
		assert.equal(lines.length, all.length);
		const keys = ['prompt_id', 'prompt', 'response_id', 'response', 'model_id', 'group_id', 'rater', 'score', 'helpful', 'honest', 'harmless', 'comment', 'flags', 'created_at', 'rm_score'];
		for (const l of lines) for (const k of keys) assert.ok(k in l, `ratings.jsonl line lacks '${k}': ${JSON.stringify(l)}`);
		for (const l of lines) assert.equal(l.rm_score, null, 'no reward model has scored the answer');
		for (const x of all) {
			const rater = raters[x.ri];
			const got = lines.filter((l) => l.response_id === x.G.responseIds[x.idx] && (l.rater === rater.name || l.rater === rater.id));
			assert.equal(got.length, 1, `one line for response ${x.G.responseIds[x.idx]} by ${rater.name}`);
			const l = got[0];
			assert.equal(l.prompt_id, x.G.promptId);
			assert.equal(l.prompt, x.G.prompt);
			assert.equal(l.response, x.G.texts[x.idx]);
			assert.equal(l.group_id, x.G.groupId);
			assert.equal(l.score, x.score);
			const isExtra = x.ri === 0 && x.G === B && x.idx === 0;
			assert.equal(l.helpful, isExtra ? extra.helpful : null);
			assert.equal(l.honest, isExtra ? extra.honest : null);
			assert.equal(l.harmless, isExtra ? extra.harmless : null);
			assert.equal(l.comment ?? null, isExtra ? extra.comment : null);
			assert.deepEqual(l.flags ?? [], isExtra ? extra.flags : []);
			assert.ok(l.created_at, 'created_at set');
		}
		assert.ok(!lines.some((l) => l.prompt_id === C.promptId));

		// ---- pairs.jsonl: pairs of differently-scored answers to one prompt, by mean score
		const meanOf = (G, idx) => {
			const s = plan.find(([g, i]) => g === G && i === idx)[2].filter((v) => v !== null);
			return mean(s);
		};
		const expectedPairs = [];
		for (const G of [A, B]) {
			const idxs = G.texts.map((_, i) => i);
			for (let i = 0; i < idxs.length; i++) for (let j = i + 1; j < idxs.length; j++) {
				const mi = meanOf(G, i), mj = meanOf(G, j);
				if (mi === mj) continue;
				const [hi, lo] = mi > mj ? [i, j] : [j, i];
				expectedPairs.push({ prompt: G.prompt, chosen: G.texts[hi], rejected: G.texts[lo], score_chosen: Math.max(mi, mj), score_rejected: Math.min(mi, mj) });
			}
		}
		// By hand: A → (Paris > Lyon 4.5/2), (Paris > question 4.5/2), Lyon~question tie dropped; B → (tricky > roses 3.5/1.5).
		assert.equal(expectedPairs.length, 3);
		const pairLines = parseJsonl((await srv.admin.get('/api/export/pairs.jsonl')).text);
		for (const l of pairLines) assert.ok(l.rm_score_chosen === null && l.rm_score_rejected === null, JSON.stringify(l));
		const pairs = pairLines
			.map(({ prompt, chosen, rejected, score_chosen, score_rejected }) => ({ prompt, chosen, rejected, score_chosen, score_rejected }));
		const key = (p) => JSON.stringify([p.prompt, p.chosen, p.rejected]);
		assert.deepEqual(pairs.sort((a, b) => key(a).localeCompare(key(b))), expectedPairs.sort((a, b) => key(a).localeCompare(key(b))));

		// ---- sft.jsonl?min_score=4: answers whose mean is ≥ 4 → only Paris (4.5), plus
		// C's two imported answers nobody rated: demonstrations (score null), as the SFT job reads them
		const sft = parseJsonl((await srv.admin.get('/api/export/sft.jsonl?min_score=4')).text);
		assert.deepEqual(sft.map(({ prompt, completion, score }) => ({ prompt, completion, score })),
			[{ prompt: A.prompt, completion: 'Paris.', score: 4.5 },
				{ prompt: C.prompt, completion: 'never rated 1', score: null },
				{ prompt: C.prompt, completion: 'never rated 2', score: null }]);
		const sft3 = parseJsonl((await srv.admin.get('/api/export/sft.jsonl?min_score=3.5&include_imported=false')).text);
		assert.deepEqual(sft3.map((x) => x.completion).sort(), ['Paris.', tricky].sort());

		// ---- ratings.csv: header + the same rows; quotes, commas and newlines survive
		const csvRes = await srv.admin.get('/api/export/ratings.csv');
		assert.equal(csvRes.status, 200);
		assert.match(csvRes.headers.get('content-type') || '', /text\/csv/);
		const rows = parseCsv(csvRes.text);
		const header = rows.shift();
		for (const k of ['prompt_id', 'prompt', 'response_id', 'response', 'rater', 'score', 'comment']) assert.ok(header.includes(k), `csv header lacks ${k}: ${header}`);
		assert.equal(rows.length, lines.length, 'one CSV row per JSONL line');
		for (const row of rows) assert.equal(row.length, header.length, `row width: ${JSON.stringify(row)}`);
		const col = (name) => header.indexOf(name);
		for (const l of lines) {
			const row = rows.find((r) => Number(r[col('response_id')]) === l.response_id && (r[col('rater')] === String(l.rater)));
			assert.ok(row, `csv row for ${l.response_id}/${l.rater}`);
			assert.equal(row[col('prompt')], l.prompt);
			assert.equal(row[col('response')], l.response);
			assert.equal(Number(row[col('score')]), l.score);
			assert.equal(row[col('comment')], l.comment ?? '');
		}
		assert.ok(rows.some((r) => r[col('response')] === tricky), 'multi-line text with quotes and commas round-trips');

		// ---- filters: split, min_raters, since
		const evalLines = parseJsonl((await srv.admin.get('/api/export/ratings.jsonl?split=eval')).text);
		assert.deepEqual(evalLines.map((l) => l.prompt_id).filter((v, i, a) => a.indexOf(v) === i), [B.promptId]);
		assert.equal(evalLines.length, 4);
		const future = parseJsonl((await srv.admin.get(`/api/export/ratings.jsonl?since=${Math.floor(Date.now() / 1000) + 3600}`)).text);
		assert.equal(future.length, 0);
		const past = parseJsonl((await srv.admin.get('/api/export/ratings.jsonl?since=2000-01-01T00:00:00Z')).text);
		assert.equal(past.length, all.length);
		const min2 = parseJsonl((await srv.admin.get('/api/export/ratings.jsonl?min_raters=3')).text);
		assert.equal(min2.length, 0, 'no answer has 3 raters');
		const min1 = parseJsonl((await srv.admin.get('/api/export/ratings.jsonl?min_raters=2')).text);
		assert.equal(min1.length, all.length, 'every rated answer has 2 raters');
	} finally { await srv.stop(); }
});
