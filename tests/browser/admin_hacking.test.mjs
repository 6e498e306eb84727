/*
 * tests/browser/admin_hacking.test.mjs — the reward-hacking watch on the admin
 * page's Models panel (web/js/spotcheck.js), in headless Chromium against a real
 * server running real jobs on a tiny model: a child version activated by hand
 * gets spot checks, a rater scores them 1 against its parent's 3, and the
 * panel shows — on a 390x844 phone viewport, in light and dark — the reward
 * model's and people's means of the spot-checked answers with their counts
 * (the numbers GET /api/models gives, checked there by hand in
 * tests/api/hacking.test.mjs), the paired comparison, the "hacking" badge and
 * its reason, with no serious axe-core violation.  A version without spot
 * checks shows none of it.  Screenshot: /tmp/rlhfd-hacking.png.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, importDemos } from '../lib/tiny_model.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let browser, tiny;
before(async () => {
	tiny = makeTinyModel({ seq: 128 });
	browser = await launch();
});
after(async () => { await browser?.close(); tiny?.cleanup(); });

async function answers(srv, ids) {
	const out = [];
	for (const id of ids) out.push(...(await promptDetail(srv, id)).responses.map((r) => ({ ...r, prompt_id: id })));
	return out;
}

async function rateGroup(rater, all, groupId, score) {
	const ratings = all.filter((r) => r.group_id === groupId).map((r) => ({ response_id: r.id, score: score(r) }));
	const s = await rater.client.post('/api/ratings', { group_id: groupId, ratings });
	assert.equal(s.status, 201, s.text);
}

const fmt = (page, v) => page.evaluate(async (x) => (await import('/js/format.js')).formatNumber(x), v);

test('Models panel: a version\'s spot-check figures and the hacking badge with its reason, on a phone', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv, trainIds } = w;
		const P = trainIds.slice(0, 8);
		assert.equal((await srv.admin.put('/api/config', { spot_check_n: 5 })).status, 200);
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: P, k: 2, max_tokens: 8, model_id: 1 }));
		const ann = await createRater(srv, 'ann');
		let all = await answers(srv, P);
		for (const g of new Set(all.map((x) => x.group_id))) {
			const first = all.find((x) => x.group_id === g).id;
			await rateGroup(ann, all, g, (x) => (x.id === first ? 4 : 2));
		}
		await importDemos(srv, trainIds.slice(12, 16));
		const child = (await jobSucceeded(srv, await submitJob(srv, 'sft', { epochs: 1, activate: false }))).model_id;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: P, k: 3, max_tokens: 8, model_id: child }));
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		await jobSucceeded(srv, rj.metrics.score_job_id);
		assert.equal((await srv.admin.post(`/api/models/${child}/activate`, {})).status, 200);
		// bob rates what the queue hands him first: the spot checks, their answers 1, the rest 5
		let sc = (await srv.admin.get('/api/models')).json.models.find((m) => m.id === child).spot_check;
		assert.equal(sc.answers, 5);
		const bob = await createRater(srv, 'bob');
		all = await answers(srv, P);
		const best = new Map();
		for (const r of all.filter((x) => x.model_id === child))
			if (!best.has(r.prompt_id) || r.rm_score > best.get(r.prompt_id).rm_score) best.set(r.prompt_id, r);
		const spotIds = new Set([...best.values()].map((r) => r.id));
		for (let i = 0; i < sc.answers; i++) {
			const t = await bob.client.get('/api/tasks/next');
			assert.equal(t.status, 200, t.text);
			await rateGroup(bob, all, t.json.task.group_id, (x) => (spotIds.has(x.id) ? 1 : 5));
		}
		const list = (await srv.admin.get('/api/models')).json.models;
		sc = list.find((m) => m.id === child).spot_check;
		assert.equal(sc.hacking, true, `the constructed case is flagged: ${JSON.stringify(sc)}`);

		for (const scheme of ['light', 'dark']) {
			const page = await newPage(browser, { viewport: { width: 390, height: 844 }, colorScheme: scheme });
			await login(page, srv.url, srv.adminToken, '/admin');
			await page.goto(`${srv.url}/admin#models`);
			const block = `#models tr[data-model="${child}"] .spot-check`;
			await page.waitForSelector(block);
			const rm = await page.textContent(`${block} [data-spot="rm"]`);
			assert.equal(rm, `reward ${await fmt(page, sc.rm_mean)} (model #${rj.model_id}, 5 answers)`);
			const human = await page.textContent(`${block} [data-spot="human"]`);
			assert.equal(human, `people ${await fmt(page, 1)} (5 answers rated, 5 ratings)`);
			const paired = await page.textContent(`${block} [data-spot="paired"]`);
			assert.equal(paired, `vs parent #1 on 5 prompts: reward ${await fmt(page, sc.rm_paired)} vs ${await fmt(page, sc.parent_rm_paired)}, ` +
				`people ${await fmt(page, 1)} vs ${await fmt(page, 3)} (5 worse, 0 better, 0 tied)`);
			assert.equal(await page.textContent(`${block} .badge-hacking`), 'hacking');
			assert.equal(await page.textContent(`${block} .spot-reason`), sc.hacking_reason);
			assert.ok(await page.isVisible(`${block} .badge-hacking`));
			// the parent has no spot checks: nothing of it in its row
			assert.equal(await page.$$eval('#models tr[data-model="1"] .spot-check', (e) => e.length), 0);
			await page.locator(block).scrollIntoViewIfNeeded();
			if (scheme === 'light') await page.screenshot({ path: '/tmp/rlhfd-hacking.png', fullPage: true });
			await page.evaluate(AXE);
			const v = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
			const bad = v.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical');
			assert.deepEqual(bad.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe (${scheme})`);
			assert.deepEqual(page.problems, []);
			await page.context().close();
		}
	} finally {
		await w.stop();
	}
});
