/*
 * tests/browser/rate_page.test.mjs — the rating page in headless Chromium:
 * keyboard-only rating (checked through the API), stored text shown as text (no
 * script, no handler runs), skip, the empty state, errors shown, and a
 * screenshot.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, exportedRatings } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a rater signs in and rates a task with the keyboard only', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'What is the capital of France?', [
			'The capital of France is Paris.',
			'What is the capital of Germany?',
			'Paris, on the Seine, has been the capital since the 10th century. ' + 'It is also the largest city. '.repeat(40),
			'Lyon.',
		]);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		assert.equal(await page.textContent('#prompt'), 'What is the capital of France?');
		await page.waitForFunction(() => /^0 rated today, \d+ left$/.test(document.getElementById('progress').textContent));

		// Keyboard only: focus starts on the first answer; digits score and advance.
		const order = await page.$$eval('.answer', (ns) => ns.map((n) => Number(n.dataset.responseId)));
		assert.deepEqual([...order].sort((a, b) => a - b), [...G.responseIds].sort((a, b) => a - b));
		const want = { [G.responseIds[0]]: 5, [G.responseIds[1]]: 1, [G.responseIds[2]]: 4, [G.responseIds[3]]: 2 };
		assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '0');
		// Move away and back with arrows and j/k first, to prove they move focus.
		await page.keyboard.press('ArrowRight');
		assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '1');
		await page.keyboard.press('k');
		assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '0');
		await page.keyboard.press('j');
		await page.keyboard.press('ArrowLeft');
		assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '0');
		// Tab walks the answers too (each answer, then its details toggle).
		await page.keyboard.press('Tab');
		await page.keyboard.press('Tab');
		assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '1');
		await page.keyboard.press('Shift+Tab');
		await page.keyboard.press('Shift+Tab');
		assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '0');
		// The optional details of answer 0, by keyboard: d opens them, Tab walks in.
		const idx = () => page.evaluate(() => document.activeElement.closest('.answer')?.dataset.index);
		await page.keyboard.press('d');
		await page.keyboard.press('Tab');                       // the details toggle
		await page.keyboard.press('Tab');                       // helpful (one tab stop)
		await page.keyboard.press('4');                         // helpful 4
		await page.keyboard.press('Tab');                       // honest
		await page.keyboard.press('ArrowRight');                // honest 2
		await page.keyboard.press('ArrowRight');                // honest 3
		await page.keyboard.press('Tab');                       // harmless
		await page.keyboard.press('Space');                     // harmless 1
		await page.keyboard.press('Tab');                       // unsafe
		await page.keyboard.press('Space');
		await page.keyboard.press('Tab');                       // dishonest
		await page.keyboard.press('Tab');                       // comment
		await page.keyboard.type('why 1,2 "ok"');
		assert.equal(await idx(), '0');
		await page.keyboard.press('Tab');                       // on to answer 1
		assert.equal(await idx(), '1');
		assert.equal(await page.evaluate(() => document.activeElement.classList.contains('answer')), true);
		await page.keyboard.press('k');
		assert.equal(await idx(), '0');
		// Enter before all are scored: a clear message, nothing sent.
		await page.keyboard.press(String(want[order[0]]));
		await page.keyboard.press('Enter');
		assert.match(await page.textContent('#error'), /Score every answer/);
		assert.equal((await exportedRatings(srv)).length, 0);
		for (const rid of order.slice(1)) {
			// Focus is on the answer for rid (moved by the previous digit or the error).
			assert.equal(await page.evaluate(() => Number(document.activeElement.closest('.answer')?.dataset.responseId)), rid);
			await page.keyboard.press(String(want[rid]));
		}
		// Selected state is visible on the buttons.
		for (const rid of order) {
			const sel = await page.$$eval(`.answer[data-response-id="${rid}"] .score-wrap [aria-checked="true"]`, (ns) => ns.map((n) => n.textContent));
			assert.deepEqual(sel, [String(want[rid])]);
		}
		await page.screenshot({ path: '/tmp/rlhfd-rate.png', fullPage: false });
		await page.keyboard.press('Enter');
		await page.waitForSelector('#empty:not([hidden])');
		assert.match(await page.textContent('#empty'), /Nothing left to rate/);

		const lines = await exportedRatings(srv);
		assert.equal(lines.length, 4);
		const first = lines.find((l) => l.response_id === order[0]);
		assert.deepEqual([first.helpful, first.honest, first.harmless, first.flags, first.comment], [4, 3, 1, ['unsafe'], 'why 1,2 "ok"']);
		for (const l of lines.filter((x) => x.response_id !== order[0]))
			assert.deepEqual([l.helpful, l.honest, l.harmless, l.flags ?? [], l.comment ?? null], [null, null, null, [], null]);
		for (const l of lines) {
			assert.equal(l.score, want[l.response_id], `score of response ${l.response_id}`);
			assert.ok(l.rater === 'ann' || l.rater === ann.id);
			assert.equal(l.group_id, G.groupId);
		}
		await page.waitForFunction(() => /1 rated today|4 rated today/.test(document.getElementById('progress').textContent));
		assert.deepEqual(page.problems, []);
		assert.deepEqual(page.dialogs, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('stored text with HTML shows as text; no script or handler runs', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const evilPrompt = 'Prompt <b>bold?</b> <script>window.__xss_prompt = 1; alert("p")</script>';
		const evil = [
			'<script>alert(1)</script>',
			'<img src=x onerror="window.__xss_img = 1; alert(2)">',
			'<a href="javascript:alert(3)">click</a> & <svg onload="window.__xss_svg=1">',
		];
		await importGroup(srv, evilPrompt, evil);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		assert.equal(await page.textContent('#prompt'), evilPrompt);
		const texts = await page.$$eval('.answer .answer-text', (ns) => ns.map((n) => n.textContent));
		assert.deepEqual([...texts].sort(), [...evil].sort());
		// No element was created from the data.
		assert.equal(await page.$$eval('.answer-text *, #prompt *', (ns) => ns.length), 0);
		assert.equal(await page.$$eval('main img, main script, main svg', (ns) => ns.length), 0);
		await page.waitForTimeout(300);
		assert.deepEqual(await page.evaluate(() => [window.__xss_prompt, window.__xss_img, window.__xss_svg]), [undefined, undefined, undefined]);
		assert.deepEqual(page.dialogs, []);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('skip with the "s" key and the button; the skipped task does not come back', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const groups = [];
		for (let i = 0; i < 3; i++) groups.push(await importGroup(srv, `skip prompt ${i}`, [`x${i}`, `y${i}`]));
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		const first = await page.textContent('#prompt');
		await page.keyboard.press('s');
		await page.waitForFunction((p) => document.getElementById('prompt').textContent !== p && !document.getElementById('task').hidden, first);
		const second = await page.textContent('#prompt');
		assert.notEqual(second, first);
		await page.click('#skip');
		await page.waitForFunction((p) => document.getElementById('prompt').textContent !== p && !document.getElementById('task').hidden, second);
		const third = await page.textContent('#prompt');
		assert.ok(![first, second].includes(third));
		await page.keyboard.press('s');
		await page.waitForSelector('#empty:not([hidden])');
		// Through the API: nothing was rated, and nothing is left for ann.
		assert.equal((await exportedRatings(srv)).length, 0);
		assert.equal((await ann.client.get('/api/tasks/next')).status, 204);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('optional details, flags and comment are sent with the scores; admin can open /rate', async () => {
	const srv = await startServer();
	try {
		const G = await importGroup(srv, 'Tell me how to break into Fort Knox.', ['I cannot help with that.', 'First, get a ladder…']);
		const page = await newPage(browser, { colorScheme: 'dark' });
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.goto(srv.url + '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		const cards = await page.$$('.answer');
		const ids = await page.$$eval('.answer', (ns) => ns.map((n) => Number(n.dataset.responseId)));
		const refusal = ids.indexOf(G.responseIds[0]), harmful = ids.indexOf(G.responseIds[1]);
		await cards[refusal].$eval('.score-wrap [data-score="5"]', (b) => b.click());
		await cards[harmful].$eval('.score-wrap [data-score="1"]', (b) => b.click());
		await cards[harmful].$eval('summary', (s) => s.click());
		const extras = await cards[harmful].$$('.extras .score');
		await (await extras[2].$('[data-score="1"]')).click();   // harmless 1
		await (await cards[harmful].$('[data-flag="unsafe"]')).check();
		await (await cards[harmful].$('textarea')).fill('Helps with a crime, "step by step".');
		await page.screenshot({ path: '/tmp/rlhfd-rate-dark.png' });
		await page.click('#submit');
		await page.waitForSelector('#empty:not([hidden])');
		const lines = await exportedRatings(srv);
		const byId = Object.fromEntries(lines.map((l) => [l.response_id, l]));
		assert.equal(byId[G.responseIds[0]].score, 5);
		assert.equal(byId[G.responseIds[1]].score, 1);
		assert.equal(byId[G.responseIds[1]].harmless, 1);
		assert.equal(byId[G.responseIds[1]].helpful, null);
		assert.deepEqual(byId[G.responseIds[1]].flags, ['unsafe']);
		assert.equal(byId[G.responseIds[1]].comment, 'Helps with a crime, "step by step".');
		assert.deepEqual(byId[G.responseIds[0]].flags ?? [], []);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('a failed submit shows the error and keeps the scores', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		await importGroup(srv, 'p', ['a', 'b']);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		await page.keyboard.press('3');
		await page.keyboard.press('4');
		await srv.stop({ keepData: false });   // the server goes away
		await page.keyboard.press('Enter');
		await page.waitForSelector('#error:not([hidden])');
		assert.match(await page.textContent('#error'), /Could not save the ratings/);
		assert.equal(await page.$$eval('.answer.scored', (ns) => ns.length), 2);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('the next task is preloaded: after a submit it shows without asking the server again', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		for (let i = 0; i < 3; i++) await importGroup(srv, `preload ${i}`, [`p${i}a`, `p${i}b`]);
		const page = await newPage(browser);
		const asked = [];
		page.on('request', (r) => { if (r.url().includes('/api/tasks/next')) asked.push(r.url()); });
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		const shown = await page.textContent('#prompt');
		// The preload is asked for as soon as the first task shows.
		for (let i = 0; i < 50 && asked.length < 2; i++) await page.waitForTimeout(20);
		assert.ok(asked.some((u) => /exclude=\d+/.test(u)), `a preload request: ${asked}`);
		await page.waitForTimeout(200);  // let the preload answer arrive
		const before = asked.length;
		await page.keyboard.press('3');
		await page.keyboard.press('4');
		await page.keyboard.press('Enter');
		await page.waitForFunction((p) => document.getElementById('prompt').textContent !== p, shown);
		// Between the submit and the new task no plain /api/tasks/next was needed.
		assert.deepEqual(asked.slice(before).filter((u) => !/exclude=/.test(u)), [], `requests after submit: ${asked.slice(before)}`);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

