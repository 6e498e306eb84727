/*
 * tests/browser/rate_chat.test.mjs — a conversation prompt on the rating page
 * and the admin's prompt page, in headless Chromium: one bubble per message
 * with its speaker's label, in order, stored text shown as text (markup in a
 * message stays literal, no element or handler from it), the plain prompt of
 * the next task shown as text again, a phone viewport, a rated conversation
 * back as a chat under Previous (a rank or pair task on a conversation too:
 * the chat above the judge), and axe-core clean (no serious or critical
 * violation) in both colour schemes.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const CHAT = [
	{ role: 'system', content: 'Answer in one sentence.' },
	{ role: 'user', content: 'What is the capital of Peru?' },
	{ role: 'assistant', content: 'The capital of Peru is Lima.' },
	{ role: 'user', content: 'And of <b>Chile</b>? <img src=x onerror="window.pwned=1">' },
];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function seriousAxe(page) {
	await page.evaluate(AXE);
	const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	return res.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')
		.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/* The chat in box as [label, bubble text] pairs. */
const chatOf = (page, box) => page.$$eval(`${box} .chat-msg`, (ns) => ns.map((n) =>
	[n.querySelector('.chat-who').textContent, n.querySelector('.chat-bubble').textContent]));

const WANT = [
	['System', 'Answer in one sentence.'],
	['User', 'What is the capital of Peru?'],
	['Assistant', 'The capital of Peru is Lima.'],
	['User (answer this)', 'And of <b>Chile</b>? <img src=x onerror="window.pwned=1">'],
];

test('a conversation prompt renders as a chat on the rate page, then a plain one as text; axe-clean', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const p = await srv.admin.post('/api/prompts', { prompts: [{ messages: CHAT }] });
		assert.equal(p.status, 201, p.text);
		const g = await srv.admin.post(`/api/prompts/${p.json.ids[0]}/responses`, { responses: ['Santiago.', 'Lima.'] });
		assert.equal(g.status, 201, g.text);
		await importGroup(srv, 'A plain <i>prompt</i>', ['x', 'y']);

		for (const scheme of ['light', 'dark']) {
			const page = await newPage(browser, { colorScheme: scheme });
			await login(page, srv.url, ann.token, '/rate');
			await page.waitForSelector('#task:not([hidden]) .answer');
			assert.deepEqual(await chatOf(page, '#prompt'), WANT);
			assert.equal(await page.$$eval('#prompt b, #prompt img', (ns) => ns.length), 0);
			assert.equal(await page.evaluate(() => window.pwned), undefined);
			assert.equal(await page.getAttribute('#prompt ol.chat', 'aria-label'), 'Conversation');
			// the user's bubbles sit right of the assistant's
			const x = await page.$$eval('#prompt .chat-bubble', (ns) => ns.map((n) => n.getBoundingClientRect().right));
			assert.ok(x[1] > x[2], `user bubble right edge ${x[1]} vs assistant ${x[2]}`);
			assert.deepEqual(await seriousAxe(page), [], `/rate with a conversation (${scheme})`);
			await page.context().close();
		}

		// on a phone, then the next task: a plain prompt, shown as text again
		const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		assert.equal((await chatOf(page, '#prompt')).length, 4);
		// the card scrolls, and starts at its end: the message to answer is in view
		const fit = await page.evaluate(() => {
			const box = document.getElementById('prompt').getBoundingClientRect();
			const last = document.querySelector('#prompt .chat-last .chat-bubble').getBoundingClientRect();
			return { top: last.top >= box.top - 1, bottom: last.bottom <= box.bottom + 1 };
		});
		assert.deepEqual(fit, { top: true, bottom: true });
		const width = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(width <= 390, `the page is ${width}px wide on a 390px screen`);
		assert.deepEqual(await seriousAxe(page), [], '/rate with a conversation (phone)');
		await page.click('#skip');
		await page.waitForFunction(() => document.getElementById('prompt').textContent === 'A plain <i>prompt</i>');
		assert.equal(await page.$$eval('#prompt .chat-msg, #prompt i', (ns) => ns.length), 0);
		assert.equal(await page.getAttribute('#prompt', 'role'), null);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally {
		await srv.stop();
	}
});

test("the admin's prompt page shows a conversation prompt as a chat", async () => {
	const srv = await startServer();
	try {
		const p = await srv.admin.post('/api/prompts', { prompts: [{ messages: CHAT }] });
		assert.equal(p.status, 201, p.text);
		const page = await newPage(browser);
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.goto(`${srv.url}/admin#prompts/${p.json.ids[0]}`);
		await page.waitForSelector('#prompt-detail:not([hidden]) .chat-msg');
		assert.deepEqual(await chatOf(page, '#prompt-detail-text'), WANT);
		assert.equal(await page.$$eval('#prompt-detail-text b, #prompt-detail-text img', (ns) => ns.length), 0);
		assert.deepEqual(await seriousAxe(page), [], '/admin prompt page with a conversation');
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally {
		await srv.stop();
	}
});

test('a rated conversation comes back as a chat under Previous (p)', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const p = await srv.admin.post('/api/prompts', { prompts: [{ messages: CHAT }] });
		assert.equal(p.status, 201, p.text);
		assert.equal((await srv.admin.post(`/api/prompts/${p.json.ids[0]}/responses`, { responses: ['Santiago.', 'Lima.'] })).status, 201);
		// the conversation is rated through the API; then a plain prompt waits
		const t = (await ann.client.get('/api/tasks/next')).json.task;
		assert.deepEqual(t.messages, CHAT);
		const r = await ann.client.post('/api/ratings', { group_id: t.group_id, ratings: t.responses.map((x) => ({ response_id: x.id, score: 3 })) });
		assert.equal(r.status, 201, r.text);
		await importGroup(srv, 'A plain prompt', ['x', 'y']);

		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		await page.keyboard.press('p');
		await page.waitForSelector('#editing:not([hidden])');
		await page.waitForSelector('#prompt .chat-msg');
		assert.deepEqual(await chatOf(page, '#prompt'), WANT);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally {
		await srv.stop();
	}
});

test('a conversation prompt of kind rank or pair: the chat above the judge, and back under Previous', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const p = await srv.admin.post('/api/prompts', { prompts: [{ messages: CHAT, task_kind: 'rank' },
			{ messages: CHAT, task_kind: 'pair' }] });
		assert.equal(p.status, 201, p.text);
		for (const id of p.json.ids)
			assert.equal((await srv.admin.post(`/api/prompts/${id}/responses`, { responses: ['Santiago.', 'Lima.', 'Quito.'] })).status, 201);
		// the rank task is judged through the API; the pair task waits on the page
		const t = (await ann.client.get('/api/tasks/next')).json.task;
		assert.equal(t.task_kind, 'rank');
		const r = await ann.client.post('/api/ratings', { group_id: t.group_id, ranking: t.responses.map((x) => x.id) });
		assert.equal(r.status, 201, r.text);

		const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .pair-answer');
		assert.deepEqual(await chatOf(page, '#prompt'), WANT);
		assert.deepEqual(await seriousAxe(page), [], '/rate, a pair task on a conversation (phone)');
		await page.keyboard.press('p');
		await page.waitForSelector('#editing:not([hidden])');
		await page.waitForSelector('#task:not([hidden]) .rank-item');
		assert.deepEqual(await chatOf(page, '#prompt'), WANT);
		assert.equal(await page.$$eval('.rank-item', (ns) => ns.length), 3);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally {
		await srv.stop();
	}
});
