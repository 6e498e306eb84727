/*
 * tests/browser/rate_demog.test.mjs — "write a better answer" and the
 * guidelines in headless Chromium: writing a demonstration with the keyboard
 * only (w, type, Ctrl+Enter; Escape closes and keeps the text) and with the
 * pointer on a phone-sized screen, each checked through the admin API; the
 * guidelines panel showing the admin's markdown safely (hostile parts as
 * text, no script or handler runs), g opening and closing it, a new version
 * appearing without a reload; the admin's Guidelines tab (preview, save) and
 * Demonstrations tab; axe-core on each state (no serious or critical
 * violation).
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

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function axeClean(page, what) {
	await page.evaluate(AXE);
	const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	const bad = res.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical');
	assert.deepEqual(bad.map((x) => `${x.id} (${x.impact}): ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
		`${what}: serious or critical accessibility violations`);
}

const demos = async (srv) => {
	const r = await srv.admin.get('/api/demonstrations');
	assert.equal(r.status, 200, r.text);
	return r.json.demonstrations;
};

const HOSTILE = '# How to rate\n\nPrefer **correct** answers; see [the handbook](https://example.com/h?a=1&b=2).\n\n' +
	'- refuse *harmful* requests\n- `short` is fine\n\n<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\n\n' +
	'[bad link](javascript:window.__pwned=3)';

test('keyboard only: w opens the writer, Ctrl+Enter saves the answer for the task shown, Escape closes it', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'What is the capital of Peru?', ['Cusco.', 'What is the capital of Chile?']);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		assert.equal(await page.isHidden('#demo-write'), true);
		assert.equal(await page.isHidden('#guidelines-slot'), true, 'no guidelines written: no panel');

		// w opens it with the focus in the text area; Escape closes it, the text kept
		await page.keyboard.press('w');
		await page.waitForSelector('#demo-write:not([hidden])');
		assert.equal(await page.evaluate(() => document.activeElement.id), 'demo-text');
		assert.equal(await page.getAttribute('#write', 'aria-expanded'), 'true');
		await page.keyboard.type('Lima is the capital');
		await page.keyboard.press('Escape');
		assert.equal(await page.isHidden('#demo-write'), true);
		assert.equal(await page.evaluate(() => document.activeElement.id), 'write', 'focus back on the button');
		await page.keyboard.press('w');
		assert.equal(await page.inputValue('#demo-text'), 'Lima is the capital');
		// typing s, 1..5 or Enter in the box neither skips, scores nor submits
		await page.keyboard.type(' of Peru. 5 s');
		await page.keyboard.press('Enter');
		await page.keyboard.type('It sits on the coast.');
		assert.equal(await page.textContent('#scored'), '0 of 2 scored');
		// an empty box is refused on the page
		assert.deepEqual(await demos(srv), []);
		await page.keyboard.press('Control+Enter');
		await page.waitForSelector('#demo-write', { state: 'hidden' });
		await page.waitForSelector('#notice:not([hidden])');
		assert.match(await page.textContent('#notice'), /saved/);
		const d = await demos(srv);
		assert.deepEqual(d.map((x) => [x.text, x.rater, x.source_group_id, x.prompt_id]),
			[['Lima is the capital of Peru. 5 s\nIt sits on the coast.', 'ann', G.groupId, G.promptId]]);
		// the task is still there to rate, and a second w starts empty
		assert.equal(await page.isVisible('#task .answer'), true);
		await page.keyboard.press('w');
		assert.equal(await page.inputValue('#demo-text'), '');
		await page.keyboard.press('Control+Enter');
		await page.waitForSelector('#error:not([hidden])');
		assert.match(await page.textContent('#error'), /empty/);
		assert.equal((await demos(srv)).length, 1, 'nothing sent');
		await axeClean(page, '/rate with the writer open');
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});

test('pointer on a phone: the button opens the writer, Save sends it; the guidelines panel is safe and g toggles it', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'Tell me how to pick a lock', ['Sure: take a pin...', 'No.']);
		assert.equal((await srv.admin.put('/api/guidelines', { text: HOSTILE })).status, 201);
		const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');

		// first visit: the panel is open, version 1, the markdown rendered
		await page.waitForSelector('#guidelines[open]');
		assert.match(await page.textContent('#guidelines summary'), /Rating guidelines\s+version 1/);
		const body = '#guidelines .guidelines-body';
		assert.equal(await page.textContent(`${body} h3`), 'How to rate');
		assert.equal(await page.textContent(`${body} strong`), 'correct');
		assert.deepEqual(await page.$$eval(`${body} a`, (as) => as.map((a) => [a.textContent, a.getAttribute('href')])),
			[['the handbook', 'https://example.com/h?a=1&b=2']]);
		assert.deepEqual(await page.$$eval(`${body} li`, (ls) => ls.map((l) => l.innerHTML)),
			['refuse <em>harmful</em> requests', '<code>short</code> is fine']);
		// the hostile parts are text: no img, no script, no javascript: link, nothing ran
		assert.equal(await page.$$eval(`${body} img, ${body} script`, (n) => n.length), 0);
		assert.match(await page.textContent(body), /<img src=x onerror="window.__pwned=1"><script>window.__pwned=2<\/script>/);
		assert.match(await page.textContent(body), /\[bad link\]\(javascript:window.__pwned=3\)/);
		assert.equal(await page.evaluate(() => window.__pwned), undefined);
		await axeClean(page, '/rate (phone) with the guidelines open');

		// g closes and opens it
		await page.locator('.answer').first().focus();
		await page.keyboard.press('g');
		assert.equal(await page.$eval('#guidelines', (d) => d.open), false);
		await page.keyboard.press('g');
		assert.equal(await page.$eval('#guidelines', (d) => d.open), true);
		await page.keyboard.press('g');
		// a click on the summary opens it too
		await page.click('#guidelines summary');
		assert.equal(await page.$eval('#guidelines', (d) => d.open), true);
		await page.click('#guidelines summary');

		// pointer: Write a better answer, type, Save
		await page.click('#write');
		await page.waitForSelector('#demo-write:not([hidden])');
		await page.fill('#demo-text', 'I cannot help with picking a lock that is not yours; a locksmith can.');
		const box = await page.locator('#demo-save').boundingBox();
		assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `Save fits the phone screen: ${JSON.stringify(box)}`);
		await axeClean(page, '/rate (phone) with the writer open');
		await page.click('#demo-save');
		await page.waitForSelector('#demo-write', { state: 'hidden' });
		const d = await demos(srv);
		assert.deepEqual(d.map((x) => [x.text, x.source_group_id]), [['I cannot help with picking a lock that is not yours; a locksmith can.', G.groupId]]);

		// a new version shows after the next task without a reload, marked updated and open
		assert.equal((await srv.admin.put('/api/guidelines', { text: 'Version **two**.' })).status, 201);
		await page.click('.answer >> nth=0 >> [data-score="2"]');
		await page.click('.answer >> nth=1 >> [data-score="4"]');
		await page.click('#submit');
		await page.waitForFunction(() => /version 2/.test(document.querySelector('#guidelines summary').textContent));
		assert.equal(await page.$eval('#guidelines', (d) => d.open), true);
		assert.equal(await page.isVisible('#guidelines .guidelines-new'), true, 'marked updated');
		assert.equal(await page.innerHTML('#guidelines .guidelines-body'), '<p>Version <strong>two</strong>.</p>');
		const lines = (await srv.admin.get('/api/export/ratings.jsonl')).text.trim().split('\n').map((l) => JSON.parse(l));
		assert.deepEqual(lines.map((l) => l.guideline_version), [2, 2], 'rated under version 2');
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});

test('admin: the Guidelines tab previews and saves a version; the Demonstrations tab lists what raters wrote', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'Name a fruit', ['Carrot.']);
		const w = await ann.client.post('/api/demonstrations', { group_id: G.groupId, text: 'An apple. <b>not bold</b>' });
		assert.equal(w.status, 201, w.text);
		const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.click('#tab-guidelines');
		await page.waitForSelector('#panel-guidelines:not([hidden]) #gl-text');
		await page.waitForFunction(() => /No guidelines yet/.test(document.getElementById('gl-status').textContent));
		await page.fill('#gl-text', '## Be kind\n\n- one *two*\n\n<script>window.__pwned=1</script>');
		await page.waitForFunction(() => document.querySelector('#gl-preview h4')?.textContent === 'Be kind');
		assert.equal(await page.innerHTML('#gl-preview li'), 'one <em>two</em>');
		assert.equal(await page.$$eval('#gl-preview script', (n) => n.length), 0);
		await axeClean(page, '/admin#guidelines');
		await page.focus('#gl-text');
		await page.keyboard.press('Control+Enter');
		await page.waitForFunction(() => /version 1 is in force/.test(document.getElementById('gl-status').textContent));
		const g = (await srv.admin.get('/api/guidelines')).json;
		assert.equal(g.guidelines.text, '## Be kind\n\n- one *two*\n\n<script>window.__pwned=1</script>');
		assert.deepEqual(await page.$$eval('#gl-versions tbody tr', (rs) => rs.map((r) => r.dataset.version)), ['1']);
		await page.fill('#gl-text', 'Shorter.');
		await page.click('#gl-save');
		await page.waitForFunction(() => /version 2 is in force/.test(document.getElementById('gl-status').textContent));
		assert.deepEqual(await page.$$eval('#gl-versions tbody tr', (rs) => rs.map((r) => r.dataset.version)), ['2', '1']);

		await page.click('#tab-demonstrations');
		await page.waitForSelector('#demos tbody tr[data-id]');
		assert.deepEqual(await page.$$eval('#demos tbody tr', (rs) => rs.map((r) => [Number(r.dataset.id), r.querySelector('.demo-text').textContent,
			r.querySelector('[data-figure="rater"]').textContent, r.querySelector('a').getAttribute('href')])),
			[[w.json.id, 'An apple. <b>not bold</b>', 'ann', `#prompts/${G.promptId}`]]);
		await axeClean(page, '/admin#demonstrations');
		assert.equal(await page.evaluate(() => window.__pwned), undefined);
		assert.deepEqual(page.problems, []);
	} finally { await srv.stop(); }
});

test('on a rank and a pair task too: w opens the writer and Ctrl+Enter saves it for the task shown', async () => {
	for (const kind of ['rank', 'pair']) {
		const srv = await startServer();
		try {
			assert.equal((await srv.admin.put('/api/config', { task_kind: kind })).status, 200);
			const ann = await createRater(srv, 'ann');
			const G = await importGroup(srv, 'Name a colour', ['Red.', 'Table.', 'Seven.']);
			const page = await newPage(browser);
			await login(page, srv.url, ann.token, '/rate');
			await page.waitForSelector('#task:not([hidden])');
			await page.waitForFunction(() => document.querySelectorAll('#answers [data-response-id], #answers button').length > 0);
			await page.locator('#prompt').click();
			await page.keyboard.press('w');
			await page.waitForSelector('#demo-write:not([hidden])');
			await page.keyboard.type(`Blue (${kind}).`);
			await page.keyboard.press('Control+Enter');
			await page.waitForSelector('#demo-write', { state: 'hidden' });
			assert.deepEqual((await demos(srv)).map((x) => [x.text, x.source_group_id]), [[`Blue (${kind}).`, G.groupId]], kind);
			assert.deepEqual(page.problems, [], kind);
			await page.context().close();
		} finally { await srv.stop(); }
	}
});
