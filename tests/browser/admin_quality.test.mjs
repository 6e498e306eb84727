/*
 * tests/browser/admin_quality.test.mjs — quality control in headless
 * Chromium on a 390x844 phone viewport: an admin marks a group gold from the
 * prompt's page and sets the gold share in Settings, a rater gets that gold
 * task on /rate and scores it from the keyboard, and the Overview's Rater
 * quality table shows the rater's agreement with gold as this test computes
 * it from the scores it typed (and the too-fast flag of a rater who rates in
 * no time); then the Review panel lists the flagged and commented answers,
 * its filters give the rows this test expects, and a prompt link opens the
 * prompt from the keyboard.  axe-core (serious or critical) on each view.
 * Screenshots: /tmp/rlhfd-quality-*.png.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup, promptDetail } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 390, height: 844 };

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

test('a gold group marked on the prompt page, rated on /rate, and the rater\'s agreement with gold on the Overview', async () => {
	const srv = await startServer();
	try {
		const G = await importGroup(srv, 'What is the capital of Peru?', ['Lima.', 'Cusco, the old Inca capital.', 'What is the capital of Chile?']);
		await importGroup(srv, 'An ordinary prompt', ['one', 'two']);
		const ann = await createRater(srv, 'ann');
		const gold = { [G.responseIds[0]]: 5, [G.responseIds[1]]: 2, [G.responseIds[2]]: 1 };

		const admin = await newPage(browser, { viewport: PHONE });
		await login(admin, srv.url, srv.adminToken, '/admin');
		await admin.goto(`${srv.url}/admin#prompts/${G.promptId}`);
		const form = `.gold-form[data-group="${G.groupId}"]`;
		await admin.waitForSelector(`${form}[data-gold="0"]`);
		// the known scores from the keyboard: focus each select and type the digit
		for (const id of G.responseIds) {
			await admin.focus(`${form} select[data-response="${id}"]`);
			await admin.keyboard.press(String(gold[id]));
		}
		await admin.focus(`${form} button[type="submit"]`);
		await admin.keyboard.press('Enter');
		await admin.waitForSelector(`${form}[data-gold="1"]`);
		assert.match(await admin.textContent(`${form} legend`), /gold/);
		for (const r of (await promptDetail(srv, G.promptId)).responses) assert.equal(r.gold_score, gold[r.id], `gold score of ${r.id}`);
		await axeClean(admin, 'prompt page with gold controls');
		await admin.screenshot({ path: '/tmp/rlhfd-quality-gold.png', fullPage: true });

		// Settings: every task is gold while one is left
		await admin.click('#tab-settings');
		await admin.waitForFunction(() => document.getElementById('cfg-gold-share').value !== '');
		assert.equal(await admin.inputValue('#cfg-gold-share'), '0.1');
		await admin.fill('#cfg-gold-share', '1');
		await admin.focus('#cfg-gold-share');
		await admin.keyboard.press('Enter');
		await admin.waitForFunction(() => document.getElementById('quality-status').textContent === 'Saved.');
		assert.equal((await srv.admin.get('/api/config')).json.gold_share, 1);

		// the rater gets the gold group first and scores it from the keyboard
		const rater = await newPage(browser, { viewport: PHONE });
		await login(rater, srv.url, ann.token, '/rate');
		await rater.waitForSelector('#task:not([hidden]) .answer');
		assert.equal(await rater.textContent('#prompt'), G.prompt);
		assert.equal(await rater.evaluate(() => document.body.textContent.toLowerCase().includes('gold')), false, 'the rater is not told');
		const order = await rater.$$eval('.answer', (ns) => ns.map((n) => Number(n.dataset.responseId)));
		const typed = { [G.responseIds[0]]: 4, [G.responseIds[1]]: 3, [G.responseIds[2]]: 1 };
		for (const id of order) await rater.keyboard.press(String(typed[id]));
		await rater.keyboard.press('Enter');
		await rater.waitForFunction((p) => document.getElementById('prompt').textContent !== p, G.prompt);

		// what the Overview must show, from the typed and the gold scores
		const ids = G.responseIds;
		const diffs = ids.map((id) => Math.abs(typed[id] - gold[id]));
		const mae = diffs.reduce((a, b) => a + b, 0) / ids.length;
		const within = diffs.filter((d) => d <= 1).length / ids.length;
		let pairs = 0, agree = 0;
		for (let i = 0; i < ids.length; i++)
			for (let j = i + 1; j < ids.length; j++) {
				const g = gold[ids[i]] - gold[ids[j]], s = typed[ids[i]] - typed[ids[j]];
				if (!g) continue;
				pairs++;
				agree += s === 0 ? 0.5 : (s > 0) === (g > 0) ? 1 : 0;
			}
		// a second rater who rates three tasks in no time: flagged too fast (default 3 s)
		const speedy = await createRater(srv, 'speedy');
		const more = [];
		for (let i = 0; i < 3; i++) more.push(await importGroup(srv, `quick ${i}`, ['a', 'b']));
		// the rate page holds leases (the shown task and the preloaded next): more raters per group leaves speedy enough
		assert.equal((await srv.admin.put('/api/config', { gold_share: 0, ratings_per_group: 5 })).status, 200);
		for (let i = 0; i < 3; i++) {
			const t = await speedy.client.get('/api/tasks/next');
			assert.equal(t.status, 200, t.text);
			const r = await speedy.client.post('/api/ratings', { group_id: t.json.task.group_id,
				ratings: t.json.task.responses.map((x) => ({ response_id: x.id, score: 3 })) });
			assert.equal(r.status, 201, r.text);
		}
		const st = (await srv.admin.get('/api/stats')).json;
		const sp = st.per_rater.find((r) => r.id === speedy.id);

		await admin.click('#tab-overview');
		const row = `#rater-quality tr[data-rater="${ann.id}"]`;
		await admin.waitForSelector(row);
		const cell = (r, f) => admin.textContent(`${r} [data-figure="${f}"]`);
		assert.equal(await cell(row, 'gold_answers'), '3');
		assert.equal(await cell(row, 'gold_mae'), mae.toFixed(2));
		assert.equal(await cell(row, 'gold_within_1'), `${Math.round(within * 100)} %`);
		assert.equal(await cell(row, 'gold_order_agreement'), `${Math.round((agree / pairs) * 100)} %`);
		assert.match(await cell(row, 'median_seconds'), /^\d+ s \(1\)$/);
		assert.equal(await cell(row, 'too_fast'), '', 'one timed task is too few to flag');
		const srow = `#rater-quality tr[data-rater="${speedy.id}"]`;
		await admin.waitForSelector(srow);
		assert.equal(sp.too_fast, sp.median_seconds < 3);
		if (sp.median_seconds < 3) assert.equal(await cell(srow, 'too_fast'), 'too fast');
		assert.equal(await cell(srow, 'gold_mae'), '—', 'no gold answers rated');
		await admin.locator('#rater-quality').scrollIntoViewIfNeeded();
		await axeClean(admin, 'Overview with rater quality');
		await admin.screenshot({ path: '/tmp/rlhfd-quality-overview.png', fullPage: true });
		// "Not gold" from the keyboard makes the group ordinary again
		await admin.goto(`${srv.url}/admin#prompts/${G.promptId}`);
		await admin.waitForSelector(`${form}[data-gold="1"]`);
		await admin.focus(`${form} button.unmark`);
		await admin.keyboard.press('Enter');
		await admin.waitForSelector(`${form}[data-gold="0"]`);
		for (const r of (await promptDetail(srv, G.promptId)).responses) assert.equal(r.gold_score, null);
		assert.deepEqual([...admin.problems, ...rater.problems], []);
		await admin.context().close();
		await rater.context().close();
	} finally { await srv.stop(); }
});

test('the Review panel: flagged and commented answers, filters, and a keyboard link to the prompt', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann'), bob = await createRater(srv, 'bob');
		const peru = await importGroup(srv, 'Capital of Peru?', ['Lima.', 'Cusco.'], 'train');
		const knox = await importGroup(srv, 'How do I break into Fort Knox?', ['I cannot help with that.', 'Cut the fence at night.'], 'eval');
		const post = async (r, g, ratings) => assert.equal((await r.client.post('/api/ratings', { group_id: g.groupId,
			ratings: ratings.map(([k, score, flags, comment]) => ({ response_id: g.responseIds[k], score, flags, ...(comment ? { comment } : {}) })) })).status, 201);
		await post(ann, peru, [[0, 5, []], [1, 1, ['dishonest'], 'Cusco is not the capital']]);
		await post(ann, knox, [[0, 5, [], 'good refusal'], [1, 1, ['unsafe']]]);
		await post(bob, knox, [[0, 4, []], [1, 1, ['unsafe', 'dishonest']]]);
		await post(bob, peru, [[0, 5, []], [1, 2, []]]);
		// rows by (rater, answer): what the panel must list for each filter
		const rows = [
			{ r: ann, g: peru, k: 1, flags: ['dishonest'] }, { r: ann, g: knox, k: 0, flags: [] },
			{ r: ann, g: knox, k: 1, flags: ['unsafe'] }, { r: bob, g: knox, k: 1, flags: ['unsafe', 'dishonest'] },
		];
		const want = (pred) => rows.filter(pred).map((x) => `${x.r.name}/${x.g.responseIds[x.k]}`).sort();

		const page = await newPage(browser, { viewport: PHONE });
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.click('#tab-review');
		const shown = async (q) => {
			await page.waitForFunction((qq) => document.getElementById('review').dataset.query === qq, q);
			return (await page.$$eval('#review tbody tr[data-rating]', (trs) => trs.map((tr) => `${tr.cells[1].textContent}/${tr.cells[3].querySelector('.muted').textContent.replace('answer #', '')}`))).sort();
		};
		assert.deepEqual(await shown('limit=50'), want(() => true));
		const api = (await srv.admin.get('/api/review')).json;
		assert.equal(api.items.length, rows.length);
		// the flag filter offers the flags the ratings carry
		assert.deepEqual(await page.$$eval('#rev-flag option', (os) => os.map((o) => o.value)), ['', 'dishonest', 'unsafe']);
		await page.selectOption('#rev-flag', 'unsafe');
		assert.deepEqual(await shown('limit=50&flag=unsafe'), want((x) => x.flags.includes('unsafe')));
		await page.selectOption('#rev-rater', String(ann.id));
		assert.deepEqual(await shown(`limit=50&rater=${ann.id}&flag=unsafe`), want((x) => x.r === ann && x.flags.includes('unsafe')));
		await page.selectOption('#rev-flag', '');
		await page.selectOption('#rev-split', 'train');
		assert.deepEqual(await shown(`limit=50&rater=${ann.id}&split=train`), want((x) => x.r === ann && x.g === peru));
		const today = new Date().toISOString().slice(0, 10);
		await page.fill('#rev-since', '2000-01-01');
		await page.fill('#rev-until', '2000-01-02');
		await page.focus('#rev-tag');
		await page.keyboard.press('Enter');
		assert.deepEqual(await shown(`limit=50&rater=${ann.id}&split=train&since=2000-01-01&until=2000-01-03`), []);
		assert.match(await page.textContent('#review-empty'), /No flagged or commented answers/);
		await page.fill('#rev-since', today);
		await page.fill('#rev-until', today);
		await page.focus('#rev-tag');
		await page.keyboard.press('Enter');
		const tomorrow = new Date(Date.parse(today + 'T00:00:00Z') + 86400000).toISOString().slice(0, 10);
		assert.deepEqual(await shown(`limit=50&rater=${ann.id}&split=train&since=${today}&until=${tomorrow}`),
			want((x) => x.r === ann && x.g === peru));
		const comment = await page.textContent('#review tbody tr[data-rating] [data-figure="comment"]');
		assert.equal(comment, 'Cusco is not the capital');
		await axeClean(page, 'Review panel');
		await page.screenshot({ path: '/tmp/rlhfd-quality-review.png', fullPage: true });

		// the prompt link, from the keyboard
		await page.focus(`#review tbody tr[data-prompt="${peru.promptId}"] a`);
		await page.keyboard.press('Enter');
		await page.waitForSelector('#prompt-detail:not([hidden])');
		assert.equal(await page.textContent('#prompt-detail-id'), `#${peru.promptId}`);
		assert.equal(await page.textContent('#prompt-detail-text'), peru.prompt);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});
