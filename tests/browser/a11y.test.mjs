/*
 * tests/browser/a11y.test.mjs — axe-core (tests/package.json) on the sign-in
 * page, the rating page with a task (light and dark) and every tab of the admin
 * page: each violation is printed (rule, impact, the first nodes), and none
 * of serious or critical impact may be left.
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

let browser, srv, ann;
before(async () => {
	browser = await launch();
	srv = await startServer();
	ann = await createRater(srv, 'ann');
	await importGroup(srv, 'What makes a good cup of tea?', ['Fresh water, a warm pot, and patience.', 'Coffee.', 'Boil it for an hour.']);
	await importGroup(srv, 'Another prompt', ['x', 'y']);
	const G = await importGroup(srv, 'A rated prompt', ['p', 'q']);
	await srv.admin.post('/api/ratings', { group_id: G.groupId, ratings: G.responseIds.map((id, i) => ({ response_id: id, score: i + 2 })) });
});
after(async () => { await browser?.close(); await srv?.stop(); });

/* Runs axe on the page as it is (injected through the debugger, so the page's
 * CSP does not apply), prints every violation, returns them. */
async function axe(page, what) {
	await page.evaluate(AXE);
	const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	const v = res.violations;
	console.log(`axe ${what}: ${v.length} violation${v.length === 1 ? '' : 's'}` +
		` (${res.passes.length} rules passed)`);
	for (const x of v) {
		console.log(`  [${x.impact}] ${x.id}: ${x.help} (${x.nodes.length} node${x.nodes.length === 1 ? '' : 's'})`);
		for (const n of x.nodes.slice(0, 3))
			console.log(`      ${n.target.join(' ')} — ${(n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 200)}`);
	}
	return v;
}

function noSerious(v, what) {
	const bad = v.filter((x) => x.impact === 'serious' || x.impact === 'critical');
	assert.deepEqual(bad.map((x) => `${x.id} (${x.impact}): ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
		`${what}: serious or critical accessibility violations`);
}

for (const scheme of ['light', 'dark']) {
	test(`axe: the sign-in page and the rating page (${scheme})`, async () => {
		const page = await newPage(browser, { colorScheme: scheme });
		await page.goto(srv.url + '/?next=%2Frate&expired=1');
		await page.waitForSelector('#notice:not([hidden])');
		noSerious(await axe(page, `/ (${scheme})`), '/');
		await page.fill('#token', ann.token);
		await page.keyboard.press('Enter');
		await page.waitForURL(srv.url + '/rate');
		await page.waitForSelector('#task:not([hidden]) .answer');
		await page.click('.answer .score-wrap [data-score="4"]');
		await page.click('.answer summary');
		noSerious(await axe(page, `/rate (${scheme})`), '/rate');
		// the undo toast and the editing banner too
		await page.click('#skip');
		await page.click('#skip');
		await page.waitForSelector('#toast:not([hidden])');
		await page.click('#toast-undo');
		await page.waitForSelector('#editing:not([hidden])');
		noSerious(await axe(page, `/rate, a skipped task re-opened (${scheme})`), '/rate (undo)');
		await page.context().close();
	});
}

test('axe: every tab of the admin page', async () => {
	const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
	await login(page, srv.url, srv.adminToken, '/admin');
	await page.waitForSelector('#counts .tile');
	noSerious(await axe(page, '/admin#overview'), '/admin');
	// Every status badge and pill the tables can show (this server has no
	// jobs or models), in light and dark, for their colour contrast.
	for (const scheme of ['light', 'dark']) {
		await page.emulateMedia({ colorScheme: scheme });
		await page.evaluate(() => {
			const card = document.createElement('div');
			card.className = 'card';
			card.id = 'badge-sampler';
			for (const s of ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'active']) {
				const b = document.createElement('span');
				b.className = `status status-${s}`;
				b.textContent = s;
				card.append(b, ' ');
			}
			for (const c of ['admin', 'disabled', 'auto', 'kind-reward', 'kind-policy', 'too-fast', 'flag']) {
				const b = document.createElement('span');
				b.className = `pill ${c}`;
				b.textContent = c;
				card.append(b, ' ');
			}
			const armed = document.createElement('button');
			armed.className = 'small armed';
			armed.textContent = 'Confirm: disable';
			card.append(armed);
			document.getElementById('panel-overview').append(card);
		});
		noSerious(await axe(page, `/admin badges (${scheme})`), `badges (${scheme})`);
		await page.evaluate(() => document.getElementById('badge-sampler').remove());
	}
	await page.emulateMedia({ colorScheme: 'light' });
	for (const tab of ['raters', 'prompts', 'data', 'settings', 'jobs', 'models', 'training', 'disagreements', 'review']) {
		await page.click(`#tab-${tab}`);
		await page.waitForSelector(`#panel-${tab}:not([hidden])`);
		await page.waitForTimeout(300);
		noSerious(await axe(page, `/admin#${tab}`), `/admin#${tab}`);
	}
	await page.context().close();
});
