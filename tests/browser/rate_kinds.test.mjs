/*
 * tests/browser/rate_kinds.test.mjs — the rank and pair tasks of the rate page
 * (web/js/rank.js, web/js/pair.js) in headless Chromium: ranking by keyboard
 * and by dragging, comparing two answers by keyboard and by pointer on a
 * phone-sized screen, undo, previous and the skip confirmation, what reaches the server
 * checked through pairs.jsonl, and axe-core on both kinds.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer, parseJsonl } from '../lib/server.mjs';
import { createRater, importGroup } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function noSerious(page, what) {
	await page.evaluate(AXE);
	const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	const bad = res.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical');
	assert.deepEqual(bad.map((x) => `${x.id} (${x.impact}): ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
		`${what}: serious or critical accessibility violations`);
}

async function pairs(srv) {
	const r = await srv.admin.get('/api/export/pairs.jsonl');
	assert.equal(r.status, 200, r.text);
	return parseJsonl(r.text).map((p) => [p.chosen_id, p.rejected_id, p.kind, p.margin])
		.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/* The pairs a ranking (tiers of ids, best first) implies, margin the tiers apart. */
function rankPairs(tiers) {
	const out = [];
	tiers.forEach((t, i) => tiers.slice(i + 1).forEach((u, d) => {
		for (const a of t) for (const b of u) out.push([a, b, 'rank', d + 1]);
	}));
	return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

const listOrder = (page) => page.$$eval('.rank-item', (ns) => ns.map((n) => Number(n.dataset.responseId)));
const focusedId = (page) => page.evaluate(() => Number(document.activeElement.closest('[data-response-id]')?.dataset.responseId));

async function rankServer(kind, answers) {
	const srv = await startServer();
	assert.equal((await srv.admin.put('/api/config', { task_kind: kind })).status, 200);
	const ann = await createRater(srv, 'ann');
	const groups = [];
	for (const [i, a] of answers.entries()) groups.push(await importGroup(srv, `Prompt ${i + 1}: which is best?`, a));
	return { srv, ann, groups };
}

test('rank by keyboard: move with digits and Shift+arrows, tie with t, submit with Enter, undo shows it back', async () => {
	const { srv, ann, groups: [G] } = await rankServer('rank', [['Paris.', 'Lyon.', 'Paris, France.', 'Marseille.']]);
	try {
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .rank-item');
		const o = await listOrder(page);
		assert.deepEqual([...o].sort((a, b) => a - b), G.responseIds);
		assert.match(await page.textContent('.instructions'), /best \(top\) to worst/);
		assert.equal(await page.isHidden('#none-acceptable'), true);
		await noSerious(page, 'rank task');
		assert.equal(await focusedId(page), o[0]);

		// the third answer to the top with its digit
		await page.keyboard.press('j');
		await page.keyboard.press('ArrowDown');
		assert.equal(await focusedId(page), o[2]);
		await page.keyboard.press('1');
		assert.deepEqual(await listOrder(page), [o[2], o[0], o[1], o[3]]);
		assert.equal(await focusedId(page), o[2]);
		// the last one up one place, then tied with the one above it
		for (let i = 0; i < 3; i++) await page.keyboard.press('j');
		assert.equal(await focusedId(page), o[3]);
		await page.keyboard.press('Shift+ArrowUp');
		assert.deepEqual(await listOrder(page), [o[2], o[0], o[3], o[1]]);
		await page.keyboard.press('t');
		assert.equal(await page.textContent(`.rank-item[data-response-id="${o[3]}"] .rank-place`), 'place 2 (tie)');
		// the score page's own keys do nothing here (and break nothing)
		for (const k of ['d', 'Shift+ArrowLeft', 'ArrowLeft']) await page.keyboard.press(k);
		await page.focus(`.rank-item[data-response-id="${o[3]}"]`);
		assert.equal(await page.textContent('#scored'), '3 places for 4 answers');
		await page.keyboard.press('Enter');
		await page.waitForSelector('#toast:not([hidden])');
		assert.equal(await page.textContent('#toast-text'), 'Ranking saved.');
		const want = rankPairs([[o[2]], [o[0], o[3]], [o[1]]]);
		assert.deepEqual(await pairs(srv), want);

		// undo: the group again, as it was ranked
		await page.keyboard.press('u');
		await page.waitForSelector('#editing:not([hidden])');
		assert.match(await page.textContent('#editing'), /You ranked this group/);
		assert.deepEqual(await listOrder(page), [o[2], o[0], o[3], o[1]]);
		assert.equal(await page.isChecked(`.rank-item[data-response-id="${o[3]}"] input[data-tie]`), true);
		// untie and save: the new ranking replaces the old one
		await page.focus(`.rank-item[data-response-id="${o[3]}"]`);
		await page.keyboard.press('t');
		await page.keyboard.press('Enter');
		await page.waitForFunction(() => document.getElementById('toast-text').textContent === 'Changes saved.');
		assert.deepEqual(await pairs(srv), rankPairs([[o[2]], [o[0]], [o[3]], [o[1]]]));
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});

test('rank by pointer on a phone: drag by the handle, the Up/Down buttons and the tie box', async () => {
	const { srv, ann, groups: [G] } = await rankServer('rank', [['one', 'two', 'three']]);
	try {
		const page = await newPage(browser, { viewport: PHONE });
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .rank-item');
		const o = await listOrder(page);
		assert.deepEqual([...o].sort((a, b) => a - b), G.responseIds);
		await noSerious(page, 'rank task on a phone');
		// drag the last answer above the first
		const handle = await page.$(`.rank-item[data-response-id="${o[2]}"] .drag-handle`);
		await handle.scrollIntoViewIfNeeded();
		const h = await handle.boundingBox();
		const first = await (await page.$(`.rank-item[data-response-id="${o[0]}"]`)).boundingBox();
		await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
		await page.mouse.down();
		await page.mouse.move(h.x + h.width / 2, first.y + 5, { steps: 8 });
		await page.mouse.up();
		assert.deepEqual(await listOrder(page), [o[2], o[0], o[1]]);
		// the first answer down one place with its button, then tied with the one above
		await page.click(`.rank-item[data-response-id="${o[0]}"] button[data-down]`);
		assert.deepEqual(await listOrder(page), [o[2], o[1], o[0]]);
		await page.click(`.rank-item[data-response-id="${o[0]}"] label.check`);
		await page.click('#submit');
		await page.waitForSelector('#toast:not([hidden])');
		assert.deepEqual(await pairs(srv), rankPairs([[o[2]], [o[1], o[0]]]));
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});

test('pair by keyboard: a/b/t/x and 1-3, what is missing said before sending, skip asks first, undo', async () => {
	const { srv, ann, groups } = await rankServer('pair', [['red', 'blue', 'green'], ['cat', 'dog'], ['sun', 'moon']]);
	try {
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .pair-answer');
		await noSerious(page, 'pair task');
		const ab = () => page.$$eval('.pair-answer', (ns) => ns.map((n) => Number(n.dataset.responseId)));
		let [a, b] = await ab();
		assert.ok(groups[0].responseIds.includes(a) && groups[0].responseIds.includes(b) && a !== b);
		assert.equal(await page.textContent('#scored'), 'No verdict yet');
		await page.keyboard.press('Enter');
		assert.match(await page.textContent('#error'), /Choose a verdict/);
		await page.keyboard.press('b');
		assert.equal(await page.isChecked('.pair-verdict input[value="b"]'), true);
		await page.keyboard.press('Enter');
		assert.match(await page.textContent('#error'), /how much better/);
		assert.deepEqual(await pairs(srv), []);
		for (const k of ['d', '5', '4']) await page.keyboard.press(k);    // score keys: nothing
		await page.keyboard.press('3');
		assert.equal(await page.textContent('#scored'), 'B is better · much better');
		await page.keyboard.press('Enter');
		await page.waitForFunction(() => document.getElementById('toast-text').textContent === 'Comparison saved.');
		const firstPair = [b, a, 'pair', 3];
		assert.deepEqual(await pairs(srv), [firstPair]);

		// the second group: a tie adds no pair
		await page.waitForSelector(`.pair-answer[data-response-id="${groups[1].responseIds[0]}"], .pair-answer[data-response-id="${groups[1].responseIds[1]}"]`);
		await page.keyboard.press('a');
		await page.keyboard.press('t');                          // changes its mind: a tie
		assert.equal(await page.isDisabled('.pair-strength input[value="1"]'), true);
		await page.keyboard.press('Enter');
		await page.waitForSelector(`.pair-answer[data-response-id="${groups[2].responseIds[0]}"]`);
		assert.deepEqual(await pairs(srv), [firstPair]);

		// the third: "both bad" chosen, then skip asks before dropping it
		[a, b] = await ab();
		await page.keyboard.press('x');
		await page.keyboard.press('s');
		assert.match(await page.textContent('#skip'), /Skip and drop/);
		await page.keyboard.press('s');
		await page.waitForFunction(() => document.getElementById('toast-text').textContent === 'Task skipped.');
		await page.keyboard.press('u');
		await page.waitForSelector(`.pair-answer[data-response-id="${a}"]`);
		assert.equal(await page.isChecked('.pair-verdict input[value="both_bad"]'), true);
		await page.keyboard.press('Enter');
		await page.waitForSelector('#empty:not([hidden])');
		assert.deepEqual(await pairs(srv), [firstPair], 'both bad adds no pair');
		// previous walks the judgements back, newest first, each as it was sent
		const verdictShown = () => page.$eval('.pair-verdict input:checked', (n) => n.value);
		await page.keyboard.press('p');
		await page.waitForSelector('#editing:not([hidden])');
		assert.match(await page.textContent('#editing'), /You compared this group/);
		assert.equal(await verdictShown(), 'both_bad');
		await page.keyboard.press('p');
		await page.waitForFunction(() => document.querySelector('.pair-verdict input:checked')?.value === 'tie');
		await page.keyboard.press('p');
		await page.waitForFunction(() => document.querySelector('.pair-verdict input:checked')?.value === 'b');
		assert.equal(await page.$eval('.pair-strength input:checked', (n) => n.value), '3');
		assert.deepEqual(await ab(), [firstPair[1], firstPair[0]]);
		// changed to A slightly better and saved: the new pair replaces the old
		await page.keyboard.press('a');
		await page.keyboard.press('1');
		await page.keyboard.press('Enter');
		await page.waitForFunction(() => document.getElementById('toast-text').textContent === 'Changes saved.');
		assert.deepEqual(await pairs(srv), [[firstPair[1], firstPair[0], 'pair', 1]]);
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});

test('pair by pointer on a phone: click the verdict and the strength, then Submit', async () => {
	const { srv, ann } = await rankServer('pair', [['A short answer.', 'A longer, better answer.']]);
	try {
		const page = await newPage(browser, { viewport: PHONE, colorScheme: 'dark' });
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .pair-answer');
		await noSerious(page, 'pair task on a phone (dark)');
		const [a, b] = await page.$$eval('.pair-answer', (ns) => ns.map((n) => Number(n.dataset.responseId)));
		await page.click('.pair-verdict label:has(input[value="a"])');
		await page.click('.pair-strength label:has(input[value="2"])');
		assert.equal(await page.textContent('#scored'), 'A is better · clearly');
		await page.click('#submit');
		await page.waitForSelector('#empty:not([hidden])');
		assert.deepEqual(await pairs(srv), [[a, b, 'pair', 2]]);
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});
