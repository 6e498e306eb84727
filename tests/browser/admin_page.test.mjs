/*
 * tests/browser/admin_page.test.mjs — the admin page in headless Chromium:
 * counts and the score histogram drawn from /api/stats, agreement, creating a
 * rater with its token shown once, JSONL import by file upload, export links,
 * settings.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, allPrompts } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('admin overview: counts, histogram, agreement; create a rater (token once); import; settings', async () => {
	const srv = await startServer();
	try {
		// Data: two raters scoring two groups, so the histogram and alpha have content.
		const ann = await createRater(srv, 'ann');
		const bob = await createRater(srv, 'bob');
		const G1 = await importGroup(srv, 'Capital of Italy?', ['Rome.', 'Milan.', 'Is it Venice?']);
		const G2 = await importGroup(srv, 'Write a short poem about the sea.', ['Waves fold in light…', 'The sea is wet.']);
		const rate = (who, G, s) => who.client.post('/api/ratings', { group_id: G.groupId, ratings: s.map((score, i) => ({ response_id: G.responseIds[i], score })) });
		assert.equal((await rate(ann, G1, [5, 2, 1])).status, 201);
		assert.equal((await rate(bob, G1, [5, 3, 1])).status, 201);
		assert.equal((await rate(ann, G2, [4, 2])).status, 201);
		assert.equal((await rate(bob, G2, [4, 3])).status, 201);
		const stats = (await srv.admin.get('/api/stats')).json;

		const page = await newPage(browser);
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.waitForSelector('#histogram svg');
		const bars = await page.$$eval('#histogram .bar', (gs) => gs.map((g) => [g.dataset.label, Number(g.dataset.value), Number(g.querySelector('rect').getAttribute('height'))]));
		assert.deepEqual(bars.map((b) => b[1]), stats.score_histogram);
		assert.deepEqual(bars.map((b) => b[0]), ['1', '2', '3', '4', '5']);
		// Bar heights are proportional to the counts.
		const unit = bars.find((b) => b[1] > 0)[2] / bars.find((b) => b[1] > 0)[1];
		for (const [, v, h] of bars) assert.ok(Math.abs(h - v * unit) < 0.01 || (v === 0 && h === 0), `bar ${v} height ${h}`);
		const tiles = await page.$$eval('#counts .tile', (ts) => ts.map((t) => t.textContent));
		assert.ok(tiles.includes(`${stats.ratings}ratings`), JSON.stringify(tiles));
		assert.ok(tiles.includes('2prompts'));
		assert.equal(await page.textContent('#alpha'), stats.agreement.alpha.toFixed(3));
		assert.equal(await page.textContent('#alpha-groups'), '2');
		const perRater = await page.$$eval('#per-rater tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
		assert.deepEqual(perRater.filter((r) => r[0] === 'ann' || r[0] === 'bob').sort(), [['ann', '5'], ['bob', '5']]);
		await page.screenshot({ path: '/tmp/rlhfd-admin.png', fullPage: true });

		// Raters tab: create one; the token appears once, works, and is gone after reload.
		await page.click('#tab-raters');
		await page.fill('#rater-name', 'carol <i>new</i>');
		await page.selectOption('#rater-role', 'rater');
		await page.click('#rater-form button[type="submit"]');
		await page.waitForSelector('#new-token:not([hidden])');
		const token = await page.inputValue('#new-token-value');
		assert.ok(token.length >= 16);
		const me = await srv.client(token).get('/api/me');
		assert.equal(me.status, 200);
		assert.equal(me.json.name, 'carol <i>new</i>');
		await page.waitForFunction(() => [...document.querySelectorAll('#raters tbody td')].some((td) => td.textContent === 'carol <i>new</i>'));
		await page.click('#copy-token');
		await page.waitForFunction(() => document.getElementById('copy-status').textContent.length > 0);
		await page.screenshot({ path: '/tmp/rlhfd-admin-raters.png', fullPage: true });
		await page.click('#hide-token');
		assert.equal(await page.inputValue('#new-token-value'), '');
		await page.reload();
		await page.waitForSelector('#raters tbody tr');
		assert.ok(!(await page.content()).includes(token), 'the token is not shown again');
		assert.equal(await page.isHidden('#new-token'), true);

		// Import tab: a JSONL file with a group of answers.
		await page.click('#tab-data');
		const jsonl = [JSON.stringify({ prompt: 'Uploaded one' }), JSON.stringify({ prompt: 'Uploaded two', responses: ['u1', 'u2'] })].join('\n') + '\n';
		await page.setInputFiles('#import-file', { name: 'prompts.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(jsonl) });
		await page.click('#import-form button[type="submit"]');
		await page.waitForFunction(() => /Imported 2 prompts/.test(document.getElementById('import-status').textContent));
		const ps = await allPrompts(srv);
		assert.deepEqual(ps.map((p) => p.text).slice(-2), ['Uploaded one', 'Uploaded two']);
		assert.equal(ps[ps.length - 1].responses, 2);
		// A file over the server's body cap is refused before uploading, with a clear message.
		assert.equal((await srv.admin.put('/api/config', { max_body_bytes: 4096 })).status, 200);
		await page.setInputFiles('#import-file', { name: 'big.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(JSON.stringify({ prompt: 'b'.repeat(5000) }) + '\n') });
		await page.click('#import-form button[type="submit"]');
		await page.waitForSelector('#error:not([hidden])');
		assert.match(await page.textContent('#error'), /big\.jsonl is .* MB; the server accepts at most/);
		assert.equal((await allPrompts(srv)).length, ps.length, 'nothing imported');
		assert.equal((await srv.admin.put('/api/config', { max_body_bytes: 8388608 })).status, 200);
		// Export links point at the four exports; one is fetched with the session cookie.
		const hrefs = await page.$$eval('.exports a', (as) => as.map((a) => a.getAttribute('href')));
		assert.deepEqual(hrefs.map((h) => h.split('?')[0]), ['/api/export/ratings.jsonl', '/api/export/pairs.jsonl', '/api/export/sft.jsonl', '/api/export/ratings.csv']);
		const body = await page.evaluate(async () => (await fetch('/api/export/ratings.jsonl')).text());
		assert.equal(body.trim().split('\n').length, stats.ratings);

		// Settings tab: raters per group.
		await page.click('#tab-settings');
		await page.waitForFunction(() => document.getElementById('cfg-rpg').value === '1');
		await page.fill('#cfg-rpg', '3');
		await page.click('#config-form button[type="submit"]');
		await page.waitForFunction(() => document.getElementById('config-status').textContent === 'Saved.');
		assert.equal((await srv.admin.get('/api/config')).json.ratings_per_group, 3);

		// Settings tab: the queue order (js/queue.js), from the keyboard
		await page.waitForFunction(() => document.getElementById('queue-order').value === 'auto' &&
			document.getElementById('queue-share').value === '0.2');
		await page.focus('#queue-order');
		await page.selectOption('#queue-order', 'uncertain');
		await page.fill('#queue-share', '0.35');
		await page.press('#queue-share', 'Enter');
		await page.waitForFunction(() => document.getElementById('queue-status').textContent === 'Saved.');
		let cfg = (await srv.admin.get('/api/config')).json;
		assert.equal(cfg.queue_order, 'uncertain');
		assert.equal(cfg.queue_random_share, 0.35);
		// a share out of range: the server's message under the field, nothing saved
		await page.fill('#queue-share', '1.5');
		await page.press('#queue-share', 'Enter');
		await page.waitForSelector('#queue-share-error:not([hidden])');
		assert.match(await page.textContent('#queue-share-error'), /queue_random_share.*0 to 1/);
		assert.equal(await page.getAttribute('#queue-share', 'aria-invalid'), 'true');
		const refused = page.problems.findIndex((p) => /status of 400 \(/.test(p));
		assert.ok(refused >= 0, 'the refused PUT /api/config');
		page.problems.splice(refused, 1);
		cfg = (await srv.admin.get('/api/config')).json;
		assert.equal(cfg.queue_random_share, 0.35);
		await page.selectOption('#queue-order', 'fifo');
		await page.fill('#queue-share', '0');
		await page.press('#queue-share', 'Enter');
		await page.waitForFunction(() => document.getElementById('queue-status').textContent === 'Saved.' &&
			!document.getElementById('queue-share').hasAttribute('aria-invalid'));
		cfg = (await srv.admin.get('/api/config')).json;
		assert.equal(cfg.queue_order, 'fifo');
		assert.equal(cfg.queue_random_share, 0);

		// Prompts tab: list and detail.
		await page.click('#tab-prompts');
		await page.waitForSelector('#prompts tbody button.link');
		await page.click('#prompts tbody button.link >> nth=0');
		await page.waitForSelector('#prompt-detail:not([hidden])');
		assert.equal(await page.textContent('#prompt-detail-text'), 'Capital of Italy?');
		await page.screenshot({ path: '/tmp/rlhfd-admin-prompts.png', fullPage: true });

		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('a rater opening /admin is sent to /rate; signed-out visitors to the login page', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const anon = await newPage(browser);
		await anon.goto(srv.url + '/admin');
		await anon.waitForURL(srv.url + '/?next=%2Fadmin');
		await anon.context().close();
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await page.goto(srv.url + '/admin');
		await page.waitForURL(srv.url + '/rate');
		assert.equal(await page.isHidden('a[href="/admin"]'), true, 'no admin link for raters');
		// Signing out ends the session.
		await page.click('#logout');
		await page.waitForURL(srv.url + '/');
		await page.goto(srv.url + '/rate');
		await page.waitForURL(srv.url + '/?next=%2Frate');
		await page.context().close();
	} finally { await srv.stop(); }
});

test('login shows an error for a bad token', async () => {
	const srv = await startServer();
	try {
		const page = await newPage(browser);
		await page.goto(srv.url + '/');
		await page.fill('#token', 'not-a-token');
		await page.keyboard.press('Enter');
		await page.waitForSelector('#error:not([hidden])');
		assert.match(await page.textContent('#error'), /not valid/);
		assert.equal(page.url(), srv.url + '/');
		await page.context().close();
	} finally { await srv.stop(); }
});
