/*
 * tests/browser/admin_disagreements.test.mjs — the admin page's Disagreements
 * panel in headless Chromium against a real server running real jobs on a tiny
 * model (tests/lib/tiny_model.mjs): before any reward model the empty state
 * says why (run a reward job; its score job fills these); after a reward job
 * and its score job the table lists, for each split filter, as many pairs as
 * GET /api/disagreements does and as many as this test counts itself from the
 * prompt pages (GET /api/prompts/{id}: human mean_score and rm_score of every
 * two answers of a group, ordered oppositely); a row's figures are those of
 * its two answers; the prompt link opens the prompt's page from the keyboard.
 * Screenshot: /tmp/rlhfd-disagreements.png.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll } from '../lib/tiny_model.mjs';

const LIMIT = 100;   /* the rows the panel asks for (web/js/disagree.js) */

let browser, tiny;
before(async () => {
	tiny = makeTinyModel({ trainPrompts: 6, evalPrompts: 3 });
	browser = await launch();
});
after(async () => { await browser?.close(); tiny?.cleanup(); });

/* The answers of prompts ids by id, and how many pairs of one group the
 * raters and the reward model order oppositely. */
async function count(srv, ids) {
	const byId = new Map();
	let dis = 0;
	for (const pid of ids) {
		const groups = new Map();
		for (const r of (await promptDetail(srv, pid)).responses) {
			byId.set(r.id, r);
			if (r.mean_score === null || r.rm_score === null) continue;
			groups.set(r.group_id, [...(groups.get(r.group_id) || []), r]);
		}
		for (const g of groups.values())
			for (let i = 0; i < g.length; i++)
				for (let j = i + 1; j < g.length; j++)
					if ((g[i].mean_score - g[j].mean_score) * (g[j].rm_score - g[i].rm_score) > 0) dis++;
	}
	return { byId, dis };
}

async function showSplit(page, split) {
	await page.selectOption('#dis-split', split);
	await page.waitForSelector(`#disagreements[data-split="${split || 'all'}"]`);
}

test('the Disagreements panel: the empty state before a reward model, then the pairs from real jobs, per split', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds, evalIds } = w;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 4, max_tokens: 8 }));
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8, split: 'eval' }));
		assert.equal((await srv.admin.put('/api/config', { ratings_per_group: 2 })).status, 200);
		assert.ok(await rateAll(await createRater(srv, 'ann')) > 0);
		assert.ok(await rateAll(await createRater(srv, 'bob')) > 0);

		const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.goto(`${srv.url}/admin#disagreements`);
		await page.waitForSelector('#disagreements[data-split="all"]');
		assert.match(await page.textContent('#dis-empty'), /No reward-model scores yet: run a reward job; its score job fills these\./);
		assert.equal(await page.locator('#disagreements tbody tr[data-a]').count(), 0);

		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);
		await page.click('#dis-refresh');
		await page.waitForSelector('#disagreements tbody tr[data-a]');

		for (const [split, ids] of [['eval', evalIds], ['train', trainIds], ['', [...trainIds, ...evalIds]]]) {
			await showSplit(page, split);
			const { byId, dis } = await count(srv, ids);
			const api = await srv.admin.get(`/api/disagreements?limit=${LIMIT}${split ? '&split=' + split : ''}`);
			assert.equal(api.status, 200, api.text);
			const rows = await page.$$eval('#disagreements tbody tr[data-a]', (rs) => rs.map((r) => ({
				prompt: Number(r.dataset.prompt), a: Number(r.dataset.a), b: Number(r.dataset.b),
				href: r.querySelector('a').getAttribute('href'),
				human: [...r.querySelectorAll('[data-figure="human"]')].map((x) => x.textContent),
				rm: [...r.querySelectorAll('[data-figure="rm"]')].map((x) => x.textContent),
			})));
			const what = `split '${split}'`;
			assert.equal(rows.length, api.json.items.length, `${what}: as many rows as the API lists`);
			assert.equal(rows.length, Math.min(LIMIT, dis), `${what}: as many rows as disagreements counted from the prompt pages`);
			if (!split) assert.ok(rows.length > 0, 'the real jobs made disagreements');
			for (const r of rows) {
				const a = byId.get(r.a), b = byId.get(r.b);
				assert.ok(a && b && a.group_id === b.group_id, `${what}: row ${r.a}/${r.b} is one group's pair`);
				assert.ok(a.mean_score > b.mean_score && a.rm_score < b.rm_score, `${what}: row ${r.a}/${r.b} disagrees`);
				assert.equal(r.href, `#prompts/${r.prompt}`);
				// the figures shown are the answers' own (rounded to 4 significant digits)
				const shows = (text, v, f) => assert.ok(Math.abs(Number(text) - v) <= Math.abs(v) * 1e-3 + 1e-12,
					`${what}: ${f} shown ${text}, the prompt page has ${v}`);
				shows(r.human[0], a.mean_score, 'a human'); shows(r.human[1], b.mean_score, 'b human');
				shows(r.rm[0], a.rm_score, 'a rm'); shows(r.rm[1], b.rm_score, 'b rm');
			}
			if (rows.length === 0)
				assert.match(await page.textContent('#dis-empty'), /orders all \d+ pairs|No two answers/);
		}
		await page.screenshot({ path: '/tmp/rlhfd-disagreements.png', fullPage: true });

		// the first row's prompt link, from the keyboard: the prompt's page opens
		const first = page.locator('#disagreements tbody tr[data-a] a').first();
		const pid = (await first.getAttribute('href')).split('/')[1];
		await first.focus();
		await page.keyboard.press('Enter');
		await page.waitForSelector('#panel-prompts:not([hidden]) #prompt-detail:not([hidden])');
		assert.equal(await page.textContent('#prompt-detail-id'), `#${pid}`);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally {
		await w.stop();
	}
});
