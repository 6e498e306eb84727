/*
 * tests/browser/rate_history.test.mjs — going back on the rating page:
 * undo after Submit and after Skip, the in-place confirmation before skipping
 * a task with scores, "previous" to edit the rater's recent groups (checked
 * through the API: a second post replaces the ratings), unsent scores kept
 * across an ended session, and the phone layout (Submit and the prompt on
 * screen, no keyboard hints on a touch screen).  Screenshots of the page on a
 * desktop and a phone go to build/screenshots/.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, ROOT } from '../lib/server.mjs';
import { createRater, importGroup, exportedRatings } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const prompt = (page) => page.textContent('#prompt');
const waitPrompt = (page, text) => page.waitForFunction((t) => !document.getElementById('task').hidden &&
	document.getElementById('prompt').textContent === t, text);

/* The scores on screen: response id → selected main score (null when none). */
function shownScores(page) {
	return page.$$eval('.answer', (ns) => Object.fromEntries(ns.map((n) => {
		const b = n.querySelector('.score-wrap [aria-checked="true"]');
		return [n.dataset.responseId, b ? Number(b.textContent) : null];
	})));
}

/* Scores the answers on screen by response id with clicks. */
async function scoreByClick(page, scores) {
	for (const [rid, v] of Object.entries(scores))
		await page.click(`.answer[data-response-id="${rid}"] .score-wrap [data-score="${v}"]`);
}

/* The current scores by response id from the export. */
async function storedScores(srv) {
	return Object.fromEntries((await exportedRatings(srv)).map((l) => [l.response_id, l.score]));
}

test('undo after Submit re-opens the group with its scores; saving again replaces the ratings; the waiting task keeps its scores', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const A = await importGroup(srv, 'prompt A', ['a1', 'a2', 'a3']);
		const B = await importGroup(srv, 'prompt B', ['b1', 'b2']);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await waitPrompt(page, 'prompt A');
		const wantA = { [A.responseIds[0]]: 5, [A.responseIds[1]]: 2, [A.responseIds[2]]: 3 };
		await scoreByClick(page, wantA);
		await page.click('#submit');
		await waitPrompt(page, 'prompt B');
		await page.waitForSelector('#toast:not([hidden])');
		assert.match(await page.textContent('#toast-text'), /saved/i);
		assert.deepEqual(await storedScores(srv), wantA);
		// a score on B before going back: it must wait there
		await scoreByClick(page, { [B.responseIds[1]]: 4 });

		await page.click('#toast-undo');
		await waitPrompt(page, 'prompt A');
		assert.deepEqual(await shownScores(page), Object.fromEntries(Object.entries(wantA).map(([k, v]) => [k, v])));
		assert.equal(await page.isVisible('#editing'), true);
		assert.match(await page.textContent('#submit'), /Save changes/);
		assert.equal(await page.isVisible('#skip'), false, 'a rated group is not skipped');
		await scoreByClick(page, { [A.responseIds[1]]: 1 });
		await page.click('#submit');
		await waitPrompt(page, 'prompt B');
		assert.deepEqual(await shownScores(page), { [B.responseIds[0]]: null, [B.responseIds[1]]: 4 });
		assert.deepEqual(await storedScores(srv), { ...wantA, [A.responseIds[1]]: 1 });
		assert.equal((await exportedRatings(srv)).length, 3, 'replaced, not added');
		// the rater's history through the API: A rated twice, once current
		const mine = (await ann.client.get('/api/ratings/mine')).json.groups;
		assert.deepEqual(mine.map((g) => g.group_id), [A.groupId]);
		await page.screenshot({ path: path.join(SHOTS, 'rate-desktop.png') });
		assert.deepEqual(page.problems, []);
		assert.deepEqual(page.dialogs, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('skipping a task with scores asks first, in place; undo after Skip brings the task back with its scores', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const A = await importGroup(srv, 'prompt A', ['a1', 'a2']);
		const B = await importGroup(srv, 'prompt B', ['b1', 'b2']);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await waitPrompt(page, 'prompt A');
		await page.keyboard.press('4');                      // answer 1 gets 4, focus on answer 2
		const first = await page.$eval('.answer', (n) => n.dataset.responseId);
		// s asks, in place (no dialog), and nothing is skipped yet
		await page.keyboard.press('s');
		await page.waitForSelector('#skip.armed');
		assert.match(await page.textContent('#skip'), /drop the scores/i);
		assert.match(await page.textContent('#scored'), /Skip again/);
		assert.equal(await prompt(page), 'prompt A');
		assert.deepEqual(page.dialogs, []);
		// the confirmation lapses after a few seconds
		await page.waitForSelector('#skip:not(.armed)', { timeout: 8000 });
		assert.equal(await prompt(page), 'prompt A');
		// twice: skipped
		await page.keyboard.press('s');
		await page.keyboard.press('s');
		await waitPrompt(page, 'prompt B');
		await page.waitForSelector('#toast:not([hidden])');
		assert.match(await page.textContent('#toast-text'), /skipped/i);
		// u is undo: A is back with its score
		await page.keyboard.press('u');
		await waitPrompt(page, 'prompt A');
		assert.equal((await shownScores(page))[first], 4);
		assert.match(await page.textContent('#editing'), /skipped/);
		const other = A.responseIds.find((id) => String(id) !== first);
		await scoreByClick(page, { [other]: 2 });
		await page.click('#submit');
		await waitPrompt(page, 'prompt B');
		assert.deepEqual(await storedScores(srv), { [first]: 4, [other]: 2 });
		// a task with no scores skips at once
		await page.click('#skip');
		await page.waitForSelector('#empty:not([hidden])');
		assert.deepEqual(Object.keys(await storedScores(srv)).length, 2);
		assert.deepEqual(page.problems, []);
		assert.deepEqual(page.dialogs, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('previous (p / the button) walks the rater\'s recent groups to edit them; n comes back to the new task', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = [];
		for (const name of ['one', 'two', 'three']) G.push(await importGroup(srv, `prompt ${name}`, [`${name} x`, `${name} y`]));
		// one and two rated through the API, oldest first
		for (const g of G.slice(0, 2)) {
			const t = (await ann.client.get('/api/tasks/next')).json.task;
			const grp = G.find((x) => x.groupId === t.group_id);
			assert.ok(grp === g || true);
			const r = await ann.client.post('/api/ratings', { group_id: t.group_id, ratings: t.responses.map((x) => ({ response_id: x.id, score: 3 })) });
			assert.equal(r.status, 201);
		}
		const rated = (await ann.client.get('/api/ratings/mine')).json.groups.map((g) => g.prompt);
		assert.equal(rated.length, 2);
		const fresh = ['prompt one', 'prompt two', 'prompt three'].find((p) => !rated.includes(p));

		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await waitPrompt(page, fresh);
		const freshIds = await page.$$eval('.answer', (ns) => ns.map((n) => n.dataset.responseId));
		await scoreByClick(page, { [freshIds[0]]: 5 });
		await page.keyboard.press('p');
		await waitPrompt(page, rated[0]);                       // the newest first
		assert.ok(Object.values(await shownScores(page)).every((v) => v === 3));
		assert.equal(await page.isVisible('#back'), true);
		await page.click('#prev');
		await waitPrompt(page, rated[1]);
		await page.keyboard.press('p');                         // nothing older
		await page.waitForSelector('#notice:not([hidden])');
		assert.match(await page.textContent('#notice'), /no older/i);
		assert.equal(await prompt(page), rated[1]);
		// edit the older one: change a score, save → back to the new task with its score
		const ids = await page.$$eval('.answer', (ns) => ns.map((n) => Number(n.dataset.responseId)));
		await scoreByClick(page, { [ids[1]]: 1 });
		await page.click('#submit');
		await waitPrompt(page, fresh);
		assert.equal((await shownScores(page))[freshIds[0]], 5);
		const stored = await storedScores(srv);
		assert.equal(stored[ids[1]], 1);
		assert.equal(stored[ids[0]], 3);
		assert.equal(Object.keys(stored).length, 4);
		// the edited group is now the newest; p shows it, n walks newer and back
		await page.keyboard.press('Backspace');
		await waitPrompt(page, rated[1]);
		await page.keyboard.press('p');
		await waitPrompt(page, rated[0]);
		await page.keyboard.press('n');
		await waitPrompt(page, rated[1]);
		await page.click('#back');
		await waitPrompt(page, fresh);
		assert.equal((await shownScores(page))[freshIds[0]], 5);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('scores entered when the session ends are kept, the login page says so, and they come back after signing in', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const A = await importGroup(srv, 'prompt A', ['a1', 'a2', 'a3']);
		const page = await newPage(browser);
		await login(page, srv.url, ann.token, '/rate');
		await waitPrompt(page, 'prompt A');
		const want = { [A.responseIds[0]]: 2, [A.responseIds[1]]: 5, [A.responseIds[2]]: 4 };
		await scoreByClick(page, want);
		const order = await page.$$eval('.answer', (ns) => ns.map((n) => n.dataset.responseId));
		await page.click(`.answer[data-response-id="${order[0]}"] summary`);
		await page.fill(`.answer[data-response-id="${order[0]}"] textarea`, 'kept?');

		// The session ends elsewhere: its cookie, used from outside the page, signs it out.
		const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
		const meRes = await fetch(srv.url + '/api/me', { headers: { Cookie: cookie } });
		const csrf = (await meRes.json()).csrf_token;
		const out = await fetch(srv.url + '/api/logout', { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: '{}' });
		assert.equal(out.status, 200);
		assert.equal((await fetch(srv.url + '/api/me', { headers: { Cookie: cookie } })).status, 401);

		await page.click('#submit');
		await page.waitForURL(/\/\?next=%2Frate&expired=1$/);
		await page.waitForSelector('#notice:not([hidden])');
		assert.match(await page.textContent('#notice'), /session has ended/);
		assert.match(await page.textContent('#notice'), /kept in this browser/);
		assert.equal((await exportedRatings(srv)).length, 0, 'nothing was sent');

		await page.fill('#token', ann.token);
		await page.keyboard.press('Enter');
		await page.waitForURL(srv.url + '/rate');
		await waitPrompt(page, 'prompt A');
		assert.deepEqual(await shownScores(page), Object.fromEntries(Object.entries(want).map(([k, v]) => [k, v])));
		assert.equal(await page.inputValue(`.answer[data-response-id="${order[0]}"] textarea`), 'kept?');
		assert.match(await page.textContent('#notice'), /back/);
		await page.click('#submit');
		await page.waitForSelector('#empty:not([hidden])');
		const lines = await exportedRatings(srv);
		assert.deepEqual(Object.fromEntries(lines.map((l) => [l.response_id, l.score])), want);
		assert.equal(lines.find((l) => String(l.response_id) === order[0]).comment, 'kept?');
		// sent: the draft is gone, a reload shows the empty state
		await page.reload();
		await page.waitForSelector('#empty:not([hidden])');
		assert.deepEqual(page.problems.filter((p) => !/status of 401/.test(p)), []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('phone (390x844, touch): Submit and the prompt stay on screen while scoring, no keyboard hints', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const long = (s) => `${s} ` + 'This answer goes on for a while to fill the small screen. '.repeat(12);
		await importGroup(srv, 'Explain how tides work, in a paragraph or two, for a curious ten-year-old. Mention the moon, the sun, and why there are two high tides a day rather than one.',
			[long('First.'), long('Second.'), long('Third.'), long('Fourth.')]);
		const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
		const page = await ctx.newPage();
		const problems = [];
		page.on('pageerror', (e) => problems.push(e.message));
		await login(page, srv.url, ann.token, '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');

		const inView = (sel) => page.$eval(sel, (n) => {
			const r = n.getBoundingClientRect();
			return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight + 0.5;
		});
		// the answers run far below the fold, yet Submit is on screen
		assert.ok(await page.evaluate(() => document.documentElement.scrollHeight > window.innerHeight * 2));
		assert.equal(await inView('#submit'), true, 'Submit within the viewport');
		assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('keys')).display), 'none');
		assert.equal(await page.$eval('#submit kbd', (k) => getComputedStyle(k).display), 'none', 'no key hint on a touch screen');
		await page.screenshot({ path: path.join(SHOTS, 'rate-phone.png') });

		// score the first three by tapping, then move to the last answer
		const cards = await page.$$('.answer');
		for (const c of cards.slice(0, 3)) await (await c.$('.score-wrap [data-score="4"]')).tap();
		await cards[3].focus();
		await page.waitForTimeout(200);
		assert.ok(await page.evaluate(() => window.scrollY > 500), 'scrolled down to the last answer');
		assert.equal(await inView('#prompt-card'), true, 'the prompt is on screen');
		assert.equal(await inView('#submit'), true, 'Submit is on screen');
		// the focused answer's head is between the prompt and the action bar, not under them
		const gap = await page.evaluate(() => {
			const p = document.getElementById('prompt-card').getBoundingClientRect();
			const a = document.querySelectorAll('.answer')[3].querySelector('h3').getBoundingClientRect();
			const bar = document.getElementById('task-actions').getBoundingClientRect();
			return { below: a.top >= p.bottom - 1, above: a.bottom <= bar.top + 1 };
		});
		assert.deepEqual(gap, { below: true, above: true });
		// the prompt folds to two lines
		const tall = await page.$eval('#prompt-card', (n) => n.getBoundingClientRect().height);
		await page.tap('#prompt-toggle');
		assert.equal(await page.getAttribute('#prompt-toggle', 'aria-expanded'), 'false');
		assert.ok(await page.$eval('#prompt-card', (n) => n.getBoundingClientRect().height) < tall);
		await page.screenshot({ path: path.join(SHOTS, 'rate-phone-scrolled.png') });
		await (await cards[3].$('.score-wrap [data-score="2"]')).tap();
		await page.tap('#submit');
		await page.waitForSelector('#empty:not([hidden])');
		assert.equal((await exportedRatings(srv)).length, 4);
		assert.deepEqual(problems, []);
		await ctx.close();
	} finally { await srv.stop(); }
});
