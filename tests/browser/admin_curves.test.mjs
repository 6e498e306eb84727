/*
 * tests/browser/admin_curves.test.mjs — the learning curves on the admin page,
 * in headless Chromium against a real server running real jobs on a tiny model
 * (tests/lib/tiny_model.mjs): the Training panel charts the reward model's
 * held-out accuracy against the ratings it was trained on with its 95 %
 * interval (an error bar, and "[lo, hi]" in the read-out), and the Models
 * panel shows an RL policy's mean human score beside its parent's on the
 * prompts both have rated answers on, with the counts in the tooltip — the
 * values GET /api/models gives.  Screenshots go to
 * /tmp/rlhfd-{reward-curve,human-curve}.png.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRater, promptDetail } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';
import { makeTinyModel, serverWithModel, submitJob, jobSucceeded, rateAll } from '../lib/tiny_model.mjs';

let browser, tiny;
before(async () => {
	tiny = makeTinyModel({ seq: 128 });
	browser = await launch();
});
after(async () => { await browser?.close(); tiny?.cleanup(); });

async function adminPage(srv, hash) {
	const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
	await login(page, srv.url, srv.adminToken, '/admin');
	await page.goto(`${srv.url}/admin${hash}`);
	return page;
}

const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-9 + Math.abs(b) * 1e-6, `${what}: ${a}, expected ${b}`);

test('learning curves: the reward model\'s held-out accuracy with its interval, a policy\'s human score beside its parent\'s', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const ids = w.trainIds.slice(0, 8);
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: ids, k: 3, max_tokens: 8 }));
		const ann = await createRater(srv, 'ann');
		assert.ok(await rateAll(ann) > 0);   // the base model's answers: 1, 5, 3 by position
		const rj = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		const pj = await jobSucceeded(srv, await submitJob(srv, 'rloo', {
			iterations: 1, prompts_per_iter: 2, k: 2, max_new: 6, require_reward_acc: 0, promote: 'always' }));
		const child = pj.model_id;
		await jobSucceeded(srv, await submitJob(srv, 'generate', { prompt_ids: ids, k: 2, max_tokens: 8, model_id: child }));
		let rated = 0;
		for (const pid of ids) {
			const mine = (await promptDetail(srv, pid)).responses.filter((r) => r.model_id === child);
			if (!mine.length) continue;
			const g = mine[0].group_id;
			const r = await ann.client.post('/api/ratings', { group_id: g,
				ratings: mine.filter((x) => x.group_id === g).map((x) => ({ response_id: x.id, score: 4 })) });
			assert.equal(r.status, 201, r.text);
			rated++;
		}
		assert.ok(rated >= 1, 'the policy answered some prompts');
		// a second reward model on more ratings: a second point, the band between them
		const rj2 = await jobSucceeded(srv, await submitJob(srv, 'reward', { epochs: 1 }));
		const models = (await srv.admin.get('/api/models')).json.models;
		const rms = [rj, rj2].map((j) => models.find((m) => m.id === j.model_id).metrics).sort((a, b) => a.ratings - b.ratings);
		assert.ok(rms[0].ratings < rms[1].ratings, `ratings: ${rms.map((m) => m.ratings)}`);
		const h = models.find((m) => m.id === child).human;
		assert.ok(h, 'the policy has a human comparison');
		assert.equal(h.parent_id, 1);

		// Training: the reward model is a point at its ratings, with an error bar over its interval.
		const page = await adminPage(srv, '#training');
		const fig = '#auto-curves figure[data-chart="reward-curve"]';
		await page.waitForSelector(`${fig} line.error-bar`, { state: 'attached' });
		const bars = await page.$$eval(`${fig} line.error-bar`, (ls) => ls.map((l) => [l.dataset.x, l.dataset.lo, l.dataset.hi].map(Number)));
		assert.equal(bars.length, 2, 'a bar per reward model');
		rms.forEach((rm, i) => {
			assert.equal(bars[i][0], rm.ratings);
			near(bars[i][1], rm.heldout_lo, 'lo');
			near(bars[i][2], rm.heldout_hi, 'hi');
		});
		const ys = await page.$$eval(`${fig} line.error-bar`, (ls) => ls.map((l) => [Number(l.getAttribute('y1')), Number(l.getAttribute('y2'))]));
		const cys = await page.$$eval(`${fig} circle.marker`, (cs) => cs.map((c) => Number(c.getAttribute('cy'))));
		ys.forEach(([y1, y2], i) => assert.ok(y1 >= cys[i] - 0.01 && cys[i] >= y2 - 0.01, `point ${i} (y ${cys[i]}) lies within its bar (${y1} to ${y2})`));
		assert.equal(await page.$$eval(`${fig} polygon.band`, (ps) => ps.length), 1, 'a band across the intervals');
		assert.match(await page.getAttribute(`${fig} svg`, 'aria-label'), /2 points, last [\d.]+ \(95% [\d.]+ to [\d.]+\) at ratings/);
		const hit = await page.$(`${fig} rect.hit`);
		await hit.scrollIntoViewIfNeeded();
		const box = await hit.boundingBox();
		await page.mouse.move(box.x + 2, box.y + box.height / 2);   // the first point
		await page.waitForSelector(`${fig} g.hover[display="inline"]`);
		const tip = await page.$$eval(`${fig} g.hover text`, (ts) => ts.map((t) => t.textContent));
		assert.equal(tip[0], `ratings ${rms[0].ratings}`);
		assert.match(tip[1], /^held-out accuracy: [\d.]+ \[[\d.]+, [\d.]+\]$/);
		await page.screenshot({ path: '/tmp/rlhfd-reward-curve.png', fullPage: true });

		// Models: the policy's pair of bars carries the API's figures; its title the counts.
		await page.goto(`${srv.url}/admin#models`);
		const pair = `#model-human figure[data-chart="human"] g.pair[data-model="${child}"]`;
		await page.waitForSelector(pair, { state: 'attached' });
		const d = await page.$eval(pair, (g) => ({ ...g.dataset }));
		near(Number(d.mean), h.mean, 'mean');
		near(Number(d.parentMean), h.parent_mean, 'parent mean');
		assert.deepEqual([d.prompts, d.better, d.worse, d.ties].map(Number), [h.prompts, h.better, h.worse, h.ties]);
		const title = await page.textContent(`${pair} title`);
		assert.ok(title.includes(`on the ${h.prompts} prompt`), title);
		assert.ok(title.includes(`${h.better} better, ${h.worse} worse`), title);
		const heights = await page.$$eval(`${pair} rect`, (rs) => rs.map((r) => [r.classList.contains('pair-a') ? 'a' : 'b', Number(r.getAttribute('height'))]));
		const hb = Object.fromEntries(heights);
		assert.equal(hb.a > hb.b, h.mean > h.parent_mean, `the taller bar is the higher mean: ${JSON.stringify(heights)}`);
		assert.equal(await page.$$eval('#model-human figure g.pair', (gs) => gs.length), 1, 'one version with a parent was rated');
		await page.screenshot({ path: '/tmp/rlhfd-human-curve.png', fullPage: true });
		assert.deepEqual(page.problems, []);
		await page.context().close();
	} finally {
		await w.stop();
	}
});
