/*
 * tests/browser/admin_live.test.mjs — the admin page keeps itself current:
 * the Overview picks up a rating made through the API without a reload (and
 * stops polling when another tab is shown), the Training panel counts the
 * ratings left before the next auto-training round, and the job form warns,
 * in place, before an RL job when there is no reward model (and not once
 * there is one).  A screenshot of the Overview goes to build/screenshots/.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, ROOT } from '../lib/server.mjs';
import { createRater, importGroup } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll } from '../lib/tiny_model.mjs';

const SHOTS = path.join(ROOT, 'build', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function adminPage(srv, hash) {
	const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
	await login(page, srv.url, srv.adminToken, '/admin');
	if (hash) await page.goto(`${srv.url}/admin${hash}`);
	return page;
}

const tileValue = (page, label) => page.$$eval('#counts .tile', (ts, l) => {
	const t = ts.find((x) => x.querySelector('.tile-label').textContent === l);
	return t ? Number(t.querySelector('.tile-value').textContent) : null;
}, label);

async function rateGroup(rater, g, score = 4) {
	const r = await rater.client.post('/api/ratings', { group_id: g.groupId, ratings: g.responseIds.map((id) => ({ response_id: id, score })) });
	assert.equal(r.status, 201, r.text);
}

test('the Overview shows a rating made through the API without a reload, and polls only while shown', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'What is 2 + 2?', ['4', 'four', '5']);
		const page = await adminPage(srv);
		const stats = [];
		page.on('request', (r) => { if (r.url().endsWith('/api/stats')) stats.push(Date.now()); });
		await page.waitForSelector('#counts .tile');
		assert.equal(await tileValue(page, 'ratings'), 0);
		const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);

		await rateGroup(ann, G, 5);
		await page.waitForFunction(() => [...document.querySelectorAll('#counts .tile')]
			.some((t) => t.querySelector('.tile-label').textContent === 'ratings' && t.querySelector('.tile-value').textContent === '3'),
		null, { timeout: 12000 });
		assert.match(await page.textContent('#per-rater'), /ann\s*3/);
		assert.match(await page.textContent('#histogram'), /3/);
		assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loads, 'no reload');
		assert.match(await page.textContent('#overview-updated'), /Updated/);
		await page.screenshot({ path: path.join(SHOTS, 'admin-overview.png') });

		// another tab: the polling stops; back: it starts again
		await page.click('#tab-raters');
		await page.waitForTimeout(600);
		const n = stats.length;
		await page.waitForTimeout(5500);
		assert.equal(stats.length, n, 'no /api/stats while the Raters tab is shown');
		await page.click('#tab-overview');
		await page.waitForTimeout(5000);
		assert.ok(stats.length >= n + 2, `polling again (${stats.length - n} requests)`);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('the Training panel counts the ratings left before the next round, as the worker counts', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		assert.equal((await srv.admin.put('/api/config', { auto_train: { reward_every_n_ratings: 5 } })).status, 200);
		const page = await adminPage(srv, '#training');
		await page.waitForSelector('#auto-countdown:not([hidden])');
		assert.match(await page.textContent('#auto-countdown'), /off.*after 5 more ratings \(0 ratings of 5/);
		assert.equal(await page.getAttribute('#auto-countdown', 'data-remaining'), '5');

		const G = await importGroup(srv, 'p', ['a', 'b', 'c']);
		await rateGroup(ann, G);
		await page.waitForFunction(() => document.getElementById('auto-countdown').dataset.remaining === '2', null, { timeout: 12000 });
		assert.match(await page.textContent('#auto-countdown'), /after 2 more ratings \(3 ratings of 5 since the last reward model\)/);
		assert.equal((await srv.admin.get('/api/stats')).json.auto_train.remaining, 2);

		// a new N from the form: the count follows at once
		await page.fill('#auto-reward_every_n_ratings', '4');
		await page.click('#auto-form button[type="submit"]');
		await page.waitForFunction(() => document.getElementById('auto-countdown').dataset.remaining === '1');
		assert.match(await page.textContent('#auto-countdown'), /after 1 more rating \(3 ratings of 4/);
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally { await srv.stop(); }
});

test('the job form warns in place before an RL job when there is no reward model, not once there is one', async () => {
	const tiny = makeTinyModel();
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const page = await adminPage(srv, '#jobs');
		await page.waitForSelector('#knob-k');
		assert.equal(await page.isVisible('#job-rl-warning'), false, 'generate needs no reward model');
		for (const kind of ['ppo', 'rloo', 'grpo']) {
			await page.selectOption('#job-kind', kind);
			await page.waitForSelector('#job-rl-warning:not([hidden])');
			assert.match(await page.textContent('#job-rl-warning'), new RegExp(`No reward model yet.*${kind} job`));
		}
		for (const kind of ['sft', 'dpo', 'reward', 'eval']) {
			await page.selectOption('#job-kind', kind);
			assert.equal(await page.isVisible('#job-rl-warning'), false, `${kind}: no warning`);
		}
		await page.selectOption('#job-kind', 'grpo');
		await page.click('#job-rl-warning button');
		assert.equal(await page.inputValue('#job-kind'), 'reward');
		assert.equal(await page.isVisible('#job-rl-warning'), false);
		assert.deepEqual(page.dialogs, []);

		// with a reward model: no warning
		await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 2, max_tokens: 8 }));
		const ann = await createRater(srv, 'ann');
		assert.ok(await rateAll(ann) > 0);
		await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await page.reload();
		await page.waitForSelector('#knob-k');
		await page.selectOption('#job-kind', 'ppo');
		await page.waitForTimeout(200);
		assert.equal(await page.isVisible('#job-rl-warning'), false);
		assert.deepEqual(page.problems.filter((p) => !/status of 40[09] \(/.test(p)), []);
		await page.context().close();
	} finally {
		await w.stop();
		tiny.cleanup();
	}
});
