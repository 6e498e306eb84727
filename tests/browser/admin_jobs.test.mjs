/*
 * tests/browser/admin_jobs.test.mjs — the admin page's Jobs, Models and
 * Training panels in headless Chromium against a real server running real
 * jobs on a tiny model (tests/lib/tiny_model.mjs): a job started from the form
 * is listed and its progress moves to a final state while its charts grow,
 * every per-step value of /api/jobs/{id}/metrics is a point of its chart (and
 * the hover read-out gives the API's value); server validation errors land
 * under the field; cancel a queued and a running job, retry one; model
 * versions with their eval figures and a chart across versions, roll back and
 * the active badge moving; people's verdict on a candidate in words (kept
 * or promoted at the final look); auto-training settings saved, reloaded,
 * rejected values shown inline.  Screenshots go to /tmp/rlhfd-{jobs,models,training}.png.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';
import {
	makeTinyModel, serverWithModel, submitJob, waitJob, jobSucceeded, importDemos, rateAll, sftEpochsLasting, FINISHED,
} from '../lib/tiny_model.mjs';

let browser, tiny;
before(async () => {
	// Eval prompts short enough to leave room for an answer in the tiny model's 64 positions.
	tiny = makeTinyModel({ maxEvalChars: 36, evalPrompts: 4 });
	browser = await launch();
});
after(async () => { await browser?.close(); tiny?.cleanup(); });

/* Console errors other than the 4xx answers a test provokes on purpose. */
const unexpected = (page) => page.problems.filter((p) => !/status of 40[09] \(/.test(p));

async function adminPage(srv, hash) {
	const page = await newPage(browser, { viewport: { width: 1280, height: 900 } });
	await login(page, srv.url, srv.adminToken, '/admin');
	await page.goto(`${srv.url}/admin${hash}`);
	return page;
}

/* Answers from the tiny model, rated by a new rater, and a reward model on
 * them (reward job params rewardParams): what the Models tests start from.
 * Returns the reward model's id. */
async function ratedWithReward(srv, rewardParams) {
	await jobSucceeded(srv, await submitJob(srv, 'generate', { k: 3, max_tokens: 8 }));
	assert.ok(await rateAll(await createRater(srv, 'ann')) > 0);
	return (await jobSucceeded(srv, await submitJob(srv, 'reward', rewardParams))).model_id;
}

/* Values by metric name from GET /api/jobs/{id}/metrics: name → [[step, value]]. */
async function metricsByName(srv, id) {
	const r = await srv.admin.get(`/api/jobs/${id}/metrics`);
	assert.equal(r.status, 200, r.text);
	const out = new Map();
	for (const p of r.json.series) {
		if (!out.has(p.name)) out.set(p.name, []);
		out.get(p.name).push([p.step, p.value]);
	}
	return out;
}

/* The (x, y) pixel points of a chart's polyline for one series. */
function polylinePoints(page, fig, name) {
	return page.$eval(`${fig} polyline[data-series="${name}"]`, (pl) =>
		pl.getAttribute('points').trim().split(/\s+/).map((p) => p.split(',').map(Number)));
}

/* The points are the data: x grows with the step, y is one decreasing affine map of the value. */
function assertPlotted(pixels, data, what) {
	assert.equal(pixels.length, data.length, `${what}: one point per value`);
	const sorted = [...data].sort((a, b) => a[0] - b[0]);
	for (let i = 1; i < pixels.length; i++) {
		if (sorted[i][0] > sorted[i - 1][0]) assert.ok(pixels[i][0] > pixels[i - 1][0], `${what}: x grows with the step`);
	}
	const vals = sorted.map((d) => d[1]);
	const lo = vals.indexOf(Math.min(...vals)), hi = vals.indexOf(Math.max(...vals));
	if (vals[hi] === vals[lo]) return;
	const slope = (pixels[hi][1] - pixels[lo][1]) / (vals[hi] - vals[lo]);
	assert.ok(slope < 0, `${what}: larger values are drawn higher`);
	const span = Math.abs(pixels[hi][1] - pixels[lo][1]);
	for (let i = 0; i < vals.length; i++) {
		const want = pixels[lo][1] + slope * (vals[i] - vals[lo]);
		assert.ok(Math.abs(pixels[i][1] - want) <= 0.02 + span * 1e-4, `${what}: point ${i} at y ${pixels[i][1]}, expected ${want}`);
	}
}

test('the job form is the registry: its kinds, fields, placeholders (the server\'s defaults), limits and help come from GET /api/jobs/kinds', async () => {
	const srv = await startServer();
	try {
		const { kinds, auto_train } = (await srv.admin.get('/api/jobs/kinds')).json;
		const page = await adminPage(srv, '#jobs');
		await page.waitForSelector('#knob-k');
		assert.deepEqual(await page.$$eval('#job-kind option', (os) => os.map((o) => o.value)), kinds.map((k) => k.name));
		for (const kind of kinds) {
			await page.selectOption('#job-kind', kind.name);
			await page.waitForSelector(`#job-form[data-kind="${kind.name}"]`);
			const fields = await page.$$eval('#job-knobs [id^="knob-"], #job-more-knobs [id^="knob-"]', (xs) => xs
				.filter((x) => !x.id.endsWith('-help') && !x.id.endsWith('-error'))
				.map((x) => ({
					name: x.name, tag: x.tagName.toLowerCase(), type: x.type, placeholder: x.getAttribute('placeholder'),
					min: x.getAttribute('min'), max: x.getAttribute('max'), checked: x.checked,
					options: x.tagName === 'SELECT' ? [...x.options].map((o) => [o.value, o.textContent]) : null,
					folded: !!x.closest('#job-more-box'), label: document.querySelector(`label[for="${x.id}"]`)?.textContent,
					help: document.getElementById(x.id + '-help')?.textContent,
				})));
			assert.deepEqual(fields.map((f) => f.name), kind.params.filter((p) => !p.advanced).map((p) => p.name)
				.concat(kind.params.filter((p) => p.advanced).map((p) => p.name)), `${kind.name}: a field per parameter, the advanced ones folded`);
			for (const p of kind.params) {
				const f = fields.find((x) => x.name === p.name);
				const what = `${kind.name}.${p.name}`;
				assert.equal(f.folded, !!p.advanced, `${what}: folded iff advanced`);
				assert.equal(f.label, p.name, what);
				assert.equal(f.help, p.help, `${what}: the registry's help line`);
				if (p.type === 'int' || p.type === 'number') {
					assert.equal(f.type, 'number', what);
					if (p.default === null) assert.equal(f.placeholder, '', `${what}: no fixed default`);
					else assert.equal(Number(f.placeholder), p.default, `${what}: placeholder ${f.placeholder} is the server's default ${p.default}`);
					assert.equal(Number(f.min), p.min, `${what}: min`);
					if (p.max !== undefined) assert.equal(Number(f.max), p.max, `${what}: max`);
					else assert.equal(f.max, null, `${what}: no max`);
				} else if (p.type === 'bool') {
					assert.equal(f.checked, p.default, `${what}: checked as the default`);
				} else if (p.type === 'choice') {
					assert.deepEqual(f.options.map((o) => o[0]), ['', ...p.choices], what);
					// a null default (score.split: both splits) is "default", its help saying what null is
					assert.equal(f.options[0][1], p.default === null ? 'default' : `default (${p.default})`,
						`${what}: the default option names the default`);
				} else if (p.type === 'model') {
					assert.equal(f.tag, 'select', what);
					assert.equal(f.options[0][0] === '' && f.options[0][1] === 'default', !p.required, `${what}: a default option unless required`);
				} else {
					assert.equal(f.placeholder, p.default === null ? '' : String(p.default), what);
				}
			}
		}
		// The Training panel: the ranges of the jobs the loop queues.
		await page.click('#tab-training');
		await page.waitForSelector('#auto-generate_k');
		for (const p of auto_train.params.filter((x) => x.type === 'int')) {
			assert.equal(Number(await page.getAttribute(`#auto-${p.name}`, 'min')), p.min, `${p.name}: min`);
			assert.equal(Number(await page.getAttribute(`#auto-${p.name}`, 'max')), p.max, `${p.name}: max`);
		}
		const k = kinds.find((x) => x.name === 'generate').params.find((x) => x.name === 'k');
		assert.equal(Number(await page.getAttribute('#auto-generate_k', 'max')), k.max, 'generate_k: the generate job\'s k');
		assert.deepEqual(await page.$$eval('#auto-rl_kind option', (os) => os.map((o) => o.value)),
			auto_train.params.find((x) => x.name === 'rl_kind').choices);
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	} finally {
		await srv.stop();
	}
});

test('a job started from the form is listed, its progress moves to a final state, its charts hold every metric point', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		await importDemos(srv, w.trainIds);
		const page = await adminPage(srv, '#jobs');
		await page.waitForSelector('#knob-k');   // generate is the first kind

		// A value the server refuses: its message under the field, nothing queued.
		await page.selectOption('#job-kind', 'ppo');
		await page.fill('#knob-k', '0');
		await page.click('#job-start');
		await page.waitForSelector('#knob-k-error:not([hidden])');
		assert.match(await page.textContent('#knob-k-error'), /params\.k/);
		assert.equal(await page.getAttribute('#knob-k', 'aria-invalid'), 'true');
		assert.deepEqual((await srv.admin.get('/api/jobs')).json.jobs, [], 'nothing queued');

		// An SFT job long enough to watch (about 4 s here: 16 demonstrations, 4 per step).
		// The calibration runs on a machine whose load may change: a job that ends
		// before the worker's first progress write (every 0.5 s) could not be
		// watched, so it runs again, four times longer, up to twice more.
		let epochs = await sftEpochsLasting(srv, 4), id, job, samples, running;
		for (let attempt = 0; ; attempt++) {
			await page.selectOption('#job-kind', 'sft');
			await page.fill('#knob-epochs', String(epochs));
			await page.fill('#knob-batch_size', '4');
			await page.fill('#knob-name', 'from <b>the</b> form');
			await page.evaluate(() => {
				// Samples the list row and the detail's loss chart while the job runs.
				clearInterval(window.sampler);
				window.samples = [];
				window.sampler = setInterval(() => {
					const tr = document.querySelector('#jobs tbody tr[data-job]');
					const pl = document.querySelector('#job-charts polyline[data-series="loss"]');
					if (tr) window.samples.push({
						id: Number(tr.dataset.job), status: tr.dataset.status,
						progress: Number(tr.querySelector('progress').value),
						loss: pl ? pl.getAttribute('points').trim().split(/\s+/).length : 0,
					});
				}, 40);
			});
			await page.click('#job-start');
			await page.waitForFunction((prev) => {
				const m = /^Started job #(\d+)\.$/.exec(document.getElementById('job-form-status').textContent);
				return m && Number(m[1]) !== prev;
			}, id ?? 0);
			id = Number((await page.textContent('#job-form-status')).match(/#(\d+)/)[1]);
			const queued = (await srv.admin.get(`/api/jobs/${id}`)).json;
			assert.equal(queued.kind, 'sft');
			assert.deepEqual(queued.params, { epochs, batch_size: 4, name: 'from <b>the</b> form' },
				'the filled fields only: empty ones and unchanged defaults are left to the server');

			await page.waitForSelector(`#jobs tbody tr[data-job="${id}"][data-status="succeeded"]`, { timeout: 120000 });
			job = (await srv.admin.get(`/api/jobs/${id}`)).json;
			assert.equal(job.status, 'succeeded');
			samples = (await page.evaluate(() => window.samples)).filter((x) => x.id === id);
			running = samples.filter((x) => x.status === 'running');
			const watched = running.some((x) => x.progress > 0 && x.progress < 1);
			if (watched || attempt === 2 || epochs * 4 > 1000) break;
			epochs = Math.min(1000, epochs * 4);
		}
		assert.ok(running.some((s) => s.progress > 0 && s.progress < 1), `progress seen between 0 and 1: ${JSON.stringify(running.slice(0, 5))}`);
		for (let i = 1; i < samples.length; i++) assert.ok(samples[i].progress >= samples[i - 1].progress, 'progress never falls');
		assert.ok(FINISHED.includes(samples.at(-1).status) || samples.at(-1).status === 'running');
		assert.equal(Number(await page.getAttribute(`#jobs tbody tr[data-job="${id}"] progress`, 'value')), 1);
		assert.match(await page.textContent(`#jobs tbody tr[data-job="${id}"] .result`), new RegExp(`model #${job.model_id}`));

		// The detail (opened on start) drew the loss while the job ran: fewer points, then all.
		await page.waitForSelector(`#job-detail[data-job="${id}"][data-status="succeeded"]`);
		const byName = await metricsByName(srv, id);
		// one loss per step: 16 demonstrations, 4 a step, `epochs` passes (how many
		// the calibration chose for this machine's load: 14 on a loaded one)
		assert.equal(w.trainIds.length, 16);
		assert.ok(byName.get('loss').length >= epochs * 4, `a loss per step: ${byName.get('loss').length}, epochs ${epochs}`);
		const growing = running.map((s) => s.loss).filter((n) => n > 0 && n < byName.get('loss').length);
		assert.ok(growing.length > 0, `the chart grew while the job ran: ${JSON.stringify(running.map((s) => s.loss))}`);

		// Every metric the API has is drawn, one point per value, in place.
		const drawn = await page.$$eval('#job-charts polyline', (ps) => ps.map((p) => p.dataset.series).sort());
		assert.deepEqual(drawn, [...byName.keys()].sort());
		for (const [name, data] of byName) {
			const fig = `#job-charts figure:has(polyline[data-series="${name}"])`;
			assertPlotted(await polylinePoints(page, fig, name), data, name);
		}
		assert.equal(await page.textContent('#job-charts figure[data-chart="Loss"] figcaption'), 'Loss');

		// Hover: the read-out names the step under the pointer and the API's value there.
		const hit = await page.$('#job-charts figure[data-chart="Loss"] rect.hit');
		await hit.scrollIntoViewIfNeeded();
		const box = await hit.boundingBox();
		await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
		await page.waitForSelector('#job-charts figure[data-chart="Loss"] g.hover[display="inline"]');
		const [head, line] = await page.$$eval('#job-charts figure[data-chart="Loss"] g.hover text', (ts) => ts.map((t) => t.textContent));
		const step = Number(head.match(/^step ([\d,]+)$/)[1].replace(/,/g, ''));   // 1,234 past a thousand
		const want = byName.get('loss').find((p) => p[0] === step);
		assert.ok(want, `step ${step} is one of the job's steps`);
		const shown = Number(line.match(/^loss: (.+)$/)[1]);
		// formatNumber shows 4 significant digits, 2 below 1e-3 (as 2.1e-5)
		const rel = Math.abs(want[1]) >= 1e-3 ? 1e-3 : 5e-2;
		assert.ok(Math.abs(shown - want[1]) <= Math.abs(want[1]) * rel, `read-out ${shown} vs API ${want[1]}`);

		// Stored text is shown as text.
		assert.equal(await page.$eval('#job-detail-params', (dl) => [...dl.querySelectorAll('dt')].find((dt) => dt.textContent === 'name').nextElementSibling.textContent),
			'from <b>the</b> form');
		assert.equal(await page.$('#job-detail-params b'), null);
		await page.mouse.move(0, 0);
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.screenshot({ path: '/tmp/rlhfd-jobs.png', fullPage: true });
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	} finally {
		await w.stop();
	}
});

test('a failed job shows its reason; cancel a queued job and a running one; retry the cancelled one', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		// No ratings yet: a reward job fails, with the reason.
		const bad = await submitJob(srv, 'reward', { epochs: 1 });
		const jb = await waitJob(srv, bad, (j) => FINISHED.includes(j.status));
		assert.equal(jb.status, 'failed');
		await importDemos(srv, w.trainIds);
		const long = await submitJob(srv, 'sft', { epochs: 1000, batch_size: 2, name: 'long' });
		await waitJob(srv, long, (j) => j.status === 'running');
		const page = await adminPage(srv, '#jobs');
		await page.waitForSelector('#knob-k');
		const row = (id) => `#jobs tbody tr[data-job="${id}"]`;
		await page.waitForSelector(`${row(bad)}[data-status="failed"]`);
		assert.equal(await page.textContent(`${row(bad)} td.result.error`), jb.error);
		assert.ok(await page.$(`${row(bad)} button[data-action="retry"]`), 'a failed job can be retried');
		await page.click(`${row(bad)} button[data-action="open"]`);
		await page.waitForSelector(`#job-detail[data-job="${bad}"][data-status="failed"]`);
		assert.equal(await page.textContent('#job-detail-error'), jb.error);

		// A generate job from the form waits behind the running one (on the two
		// shortest train prompts: longer ones leave no room in 64 positions).
		const [p1, p2] = w.trainIds.map((id, i) => [tiny.promptSet[i].text.length, id])
			.sort((a, b) => a[0] - b[0]).slice(0, 2).map((x) => x[1]);
		await page.fill('#knob-k', '2');
		await page.fill('#knob-max_tokens', '4');
		await page.fill('#knob-prompt_ids', `${p1}, ${p2}`);
		await page.click('#job-start');
		await page.waitForFunction(() => /^Started job #\d+\.$/.test(document.getElementById('job-form-status').textContent));
		const q = Number((await page.textContent('#job-form-status')).match(/#(\d+)/)[1]);
		assert.deepEqual((await srv.admin.get(`/api/jobs/${q}`)).json.params, { k: 2, max_tokens: 4, prompt_ids: [p1, p2] });
		await page.waitForSelector(`${row(q)}[data-status="queued"]`);
		await page.waitForSelector(`${row(long)}[data-status="running"]`);

		await page.click(`${row(q)} button[data-action="cancel"]`);
		await page.waitForSelector(`${row(q)}[data-status="cancelled"]`);
		const jq = (await srv.admin.get(`/api/jobs/${q}`)).json;
		assert.equal(jq.status, 'cancelled');
		assert.equal(jq.started_at, null, 'it never ran');
		assert.equal(await page.$(`${row(q)} button[data-action="cancel"]`), null, 'no cancel on a finished job');

		// Polling updates the running row in place: a focused button keeps focus.
		await page.focus(`${row(long)} button[data-action="cancel"]`);
		const p0 = Number(await page.getAttribute(`${row(long)} progress`, 'value'));
		await page.waitForFunction(([sel, p]) => Number(document.querySelector(sel).value) > p, [`${row(long)} progress`, p0]);
		assert.equal(await page.evaluate(() => document.activeElement.dataset.action + ' ' + document.activeElement.dataset.job), `cancel ${long}`);

		// The running one, from its detail view: cancelled at its next step, no version made.
		await page.click(`${row(long)} button[data-action="open"]`);
		await page.waitForSelector(`#job-detail[data-job="${long}"][data-status="running"]`);
		assert.equal(new URL(page.url()).hash, `#jobs/${long}`);
		await page.click('#job-detail-actions button[data-action="cancel"]');
		await page.waitForSelector(`#job-detail[data-job="${long}"][data-status="cancelled"]`, { timeout: 20000 });
		await page.waitForSelector(`${row(long)}[data-status="cancelled"]`);
		const jl = (await srv.admin.get(`/api/jobs/${long}`)).json;
		assert.equal(jl.status, 'cancelled');
		assert.equal(jl.model_id, null);
		assert.ok(jl.progress < 1);
		assert.deepEqual((await srv.admin.get('/api/models')).json.models.map((m) => m.id), [1], 'no version from a cancelled job');

		// Retry the cancelled generate job: a new job with the same params runs to the end.
		await page.click(`${row(q)} button[data-action="retry"]`);
		await page.waitForFunction((last) => Number((/^#jobs\/(\d+)$/.exec(location.hash) || [])[1]) > last, long);
		const nid = Number(new URL(page.url()).hash.split('/')[1]);
		assert.ok(nid > long);
		await page.waitForSelector(`${row(nid)}[data-status="succeeded"]`, { timeout: 30000 });
		await page.waitForSelector(`#job-detail[data-job="${nid}"][data-status="succeeded"]`);
		const nj = (await srv.admin.get(`/api/jobs/${nid}`)).json;
		assert.equal(nj.kind, 'generate');
		assert.deepEqual(nj.params, jq.params);
		assert.equal(nj.metrics.groups, 2);
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	} finally {
		await w.stop();
	}
});

test('models: versions with their figures, a chart across versions, roll back moves the active badge', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		const rm = await ratedWithReward(srv, { epochs: 2 });
		const rl = { iterations: 3, prompts_per_iter: 2, k: 2, max_new: 8, minibatch: 4, lr: 0.02, require_reward_acc: 0, promote: 'always' };
		const ppo = (await jobSucceeded(srv, await submitJob(srv, 'ppo', rl))).model_id;
		const rloo = (await jobSucceeded(srv, await submitJob(srv, 'rloo', rl))).model_id;
		for (const m of [1, ppo, rloo]) await jobSucceeded(srv, await submitJob(srv, 'eval', { model_id: m, max_new: 8 }));
		// two best policies of one reference: the second is a soup of both
		const bestParams = { require_reward_acc: 0, promote: 'never', max_steps: 1, ptx: 0, ref_model_id: 1 };
		const best1 = (await jobSucceeded(srv, await submitJob(srv, 'best', bestParams))).model_id;
		const best2 = (await jobSucceeded(srv, await submitJob(srv, 'best', bestParams))).model_id;
		const models = (await srv.admin.get('/api/models')).json.models;
		assert.equal(models.find((m) => m.id === best2).metrics.soup.members, 2);
		assert.equal(models.find((m) => m.active).id, rloo);

		const page = await adminPage(srv, '#models');
		const row = (id) => `#models tbody tr[data-model="${id}"]`;
		await page.waitForSelector(row(rloo));
		assert.deepEqual(await page.$$eval('#models tbody tr', (rs) => rs.map((r) => Number(r.dataset.model))), models.map((m) => m.id));
		assert.deepEqual(await page.$$eval('#models [data-active]', (bs) => bs.map((b) => Number(b.closest('tr').dataset.model))), [rloo]);
		assert.equal(await page.$(`${row(rm)} button[data-action="activate"]`), null, 'a reward model is never activated');
		assert.equal(await page.textContent(`${row(ppo)} button[data-action="activate"]`), 'Roll back');
		assert.equal(await page.$(`${row(rloo)} button[data-action="activate"]`), null, 'the active one has no button');

		// Key figures are the API's.
		const ev = models.find((m) => m.id === ppo).metrics.eval;
		for (const [label, v] of [['reward', ev.reward_mean], ['win rate', ev.win_rate], ['KL', ev.kl]]) {
			const shown = Number(await page.textContent(`${row(ppo)} [data-figure="${label}"] strong`));
			assert.ok(Math.abs(shown - v) <= Math.abs(v) * 1e-3 + 1e-9, `${label}: ${shown} vs ${v}`);
		}
		const acc = models.find((m) => m.id === rm).metrics.heldout_acc;
		assert.ok(Math.abs(Number(await page.textContent(`${row(rm)} [data-figure="held-out acc"] strong`)) - acc) <= 1e-3);
		const cv = models.find((m) => m.id === rm).metrics.cv_acc;
		assert.equal(typeof cv, 'number', 'the reward model is cross-validated');
		assert.ok(Math.abs(Number(await page.textContent(`${row(rm)} [data-figure="cross-validated"] strong`)) - cv) <= 1e-3);
		assert.equal(await page.textContent(`${row(best2)} [data-figure="soup of"] strong`), '2');
		assert.equal(await page.$(`${row(best1)} [data-figure="soup of"]`), null, 'the first best policy is no soup');

		// The chart across versions: a point per evaluated version, in version order.
		const evald = [...models].sort((a, b) => a.id - b.id).filter((m) => m.metrics.eval);
		assert.equal(evald.length, 3);
		for (const [series, key] of [['eval reward mean', 'reward_mean'], ['win rate vs parent', 'win_rate']]) {
			const data = evald.filter((m) => typeof m.metrics.eval[key] === 'number').map((m) => [m.id, m.metrics.eval[key]]);
			assertPlotted(await polylinePoints(page, '#model-charts figure[data-chart="versions"]', series), data, series);
		}
		const xTicks = await page.$$eval('#model-charts figure[data-chart="versions"] text.axis', (ts) => ts.map((t) => t.textContent).filter((t) => t.startsWith('#')));
		assert.ok(xTicks.length >= 2, `version ticks: ${xTicks}`);
		await page.screenshot({ path: '/tmp/rlhfd-models.png', fullPage: true });

		// Roll back to the base model, then forward again: the badge follows.
		await page.click(`${row(1)} button[data-action="activate"]`);
		await page.waitForSelector(`${row(1)} [data-active]`);
		assert.equal(await page.$(`${row(rloo)} [data-active]`), null);
		assert.equal(await page.textContent('#models-status'), 'Rolled back to model #1.');
		assert.deepEqual((await srv.admin.get('/api/models')).json.models.filter((m) => m.active).map((m) => m.id), [1]);
		await page.click(`${row(rloo)} button[data-action="activate"]`);
		await page.waitForSelector(`${row(rloo)} [data-active]`);
		assert.deepEqual(await page.$$eval('#models [data-active]', (bs) => bs.map((b) => Number(b.closest('tr').dataset.model))), [rloo]);
		assert.deepEqual((await srv.admin.get('/api/models')).json.models.filter((m) => m.active).map((m) => m.id), [rloo]);

		// Evaluate from the table starts an eval job of that version.
		await page.click(`${row(ppo)} button[data-action="evaluate"]`);
		await page.waitForSelector('#models-status a');
		const eid = Number((await page.textContent('#models-status a')).match(/#(\d+)/)[1]);
		const ej = (await srv.admin.get(`/api/jobs/${eid}`)).json;
		assert.equal(ej.kind, 'eval');
		assert.equal(ej.params.model_id, ppo);
		await jobSucceeded(srv, eid);
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	} finally {
		await w.stop();
	}
});

/*
 * People's verdict on a candidate, in the sentence the Models page writes.  A
 * verdict needs a candidate the reward-model gate found sound and people's
 * ratings of its answers — the demo loop makes them (tests/e2e), the tiny
 * model cannot — so this test takes two real best policies and adds to the
 * API's answer the metrics.verdict objects server/worker/autotrain.c writes
 * (their shape as there); the decisions themselves are tested in
 * tests/unit/test_promote.c and tests/e2e/safety.test.mjs.
 */
test('models: people\'s verdict — kept at the final look, promoted at the final look — and a soup promoted on its margin, said in words', async () => {
	const w = await serverWithModel(tiny);
	try {
		const { srv } = w;
		await ratedWithReward(srv, { epochs: 1 });
		const bestParams = { require_reward_acc: 0, promote: 'never', max_steps: 1, ptx: 0, ref_model_id: 1 };
		const kept = (await jobSucceeded(srv, await submitJob(srv, 'best', bestParams))).model_id;
		const promoted = (await jobSucceeded(srv, await submitJob(srv, 'best', bestParams))).model_id;
		const soup = (await jobSucceeded(srv, await submitJob(srv, 'best', bestParams))).model_id;
		const few = (await jobSucceeded(srv, await submitJob(srv, 'best', bestParams))).model_id;
		const promotions = {
			[soup]: { decision: 'promoted', mode: 'gate', reasons: [], margin: 0.1, sound: true, rm_leans: false,
				win_rate: 0.473, win_lo: 0.414, win_hi: 0.534 },
		};
		const verdicts = {
			[kept]: { decision: 'kept', over: 1, better: 53, worse: 47, ties: 28, p: 0.0591, test: 'signed-rank',
				look: 'final', level: 0.01, rm_leans: false, rated: 500, answers: 512 },
			[promoted]: { decision: 'promoted', over: 1, better: 60, worse: 37, ties: 31, p: 0.003, test: 'signed-rank',
				look: 'final', level: 0.05, rm_leans: true, rated: 490, answers: 512,
				unseen: { prompts: 62, mean: 0.0417, lo: -0.1875, margin: 0.5, min: 16 } },
			/* the unseen prompts too few: kept whatever the rest said */
			[few]: { decision: 'kept', over: 1, better: 25, worse: 4, ties: 3, p: 0.00008, test: 'signed-rank',
				look: 'final', level: 0.01, rm_leans: false, rated: 104, answers: 104,
				unseen: { prompts: 6, mean: -0.0972, lo: -1.1229, margin: 0.5, min: 16 } },
		};
		const page = await adminPage(srv, '#models');
		await page.route('**/api/models', async (route) => {
			const res = await route.fetch();
			const body = await res.json();
			for (const m of body.models) if (verdicts[m.id]) m.metrics.verdict = verdicts[m.id];
			for (const m of body.models) if (promotions[m.id]) m.metrics.promotion = promotions[m.id];
			await route.fulfill({ response: res, json: body });
		});
		await page.reload();
		const row = (id) => `#models tbody tr[data-model="${id}"]`;
		await page.waitForSelector(`${row(promoted)} .verdict`);
		assert.equal(await page.getAttribute(`${row(kept)} .verdict`, 'data-verdict'), 'people-kept');
		assert.equal(await page.textContent(`${row(kept)} .verdict`),
			'Kept after people\'s final look against #1 (500 of 512 answers rated): raters scored it higher on 53 ' +
			'of 128 prompts, lower on 47 (signed-rank test p = 0.0591, level 0.01; the reward model did not lean its way).');
		assert.equal(await page.getAttribute(`${row(promoted)} .verdict`, 'data-verdict'), 'people');
		assert.equal(await page.textContent(`${row(promoted)} .verdict`),
			'Promoted by people over #1 at their final look: raters scored it higher on 60 of the 128 prompts it was ' +
			'trained on, lower on 37 (signed-rank test p = 0.003, level 0.05); on the 62 prompts neither was trained on ' +
			'+0.0417 on average (95 % lower bound -0.1875, to stay above -0.5).');
		assert.equal(await page.getAttribute(`${row(few)} .verdict`, 'data-verdict'), 'people-kept');
		assert.equal(await page.textContent(`${row(few)} .verdict`),
			'Kept after people\'s final look against #1 (104 of 104 answers rated): raters scored it higher on 25 of ' +
			'the 32 prompts it was trained on, lower on 4 (signed-rank test p = 8.0e-5, level 0.01; the reward model did ' +
			'not lean its way); 6 prompts neither was trained on, too few (16) to show it no worse.');
		// a soup the gate let through on its margin says so
		assert.equal(await page.textContent(`${row(soup)} .verdict`),
			'Promoted by the gate as a soup with its parent among its members (the reward model must not prefer ' +
			'the parent by more than 0.1): win rate 0.473 [0.414, 0.534].');
		// the candidates stay candidates: the page offers to activate them by hand
		for (const id of [kept, promoted])
			assert.ok(await page.$(`${row(id)} button[data-action="activate"]`), `model ${id} can be activated by hand`);
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	} finally {
		await w.stop();
	}
});

test('auto-training settings: saved, shown again after a reload, refused values marked inline', async () => {
	const srv = await startServer();
	try {
		const before = (await srv.admin.get('/api/config')).json.auto_train;
		const page = await adminPage(srv, '#training');
		await page.waitForSelector('#auto-reward_every_n_ratings');
		assert.equal(await page.isChecked('#auto-enabled'), before.enabled);
		assert.equal(await page.inputValue('#auto-reward_every_n_ratings'), String(before.reward_every_n_ratings));
		assert.equal(await page.inputValue('#auto-rl_kind'), before.rl_kind);
		// every key the server has gets a field
		const keys = await page.$$eval('#auto-fields [data-key]', (xs) => xs.map((x) => x.dataset.key).sort());
		assert.deepEqual(keys, Object.keys(before).sort());

		await page.check('#auto-enabled');
		await page.fill('#auto-reward_every_n_ratings', '7');
		await page.selectOption('#auto-rl_kind', 'rloo');
		if (keys.includes('generate_k')) await page.fill('#auto-generate_k', '2');
		await page.click('#auto-form button[type="submit"]');
		await page.waitForFunction(() => document.getElementById('auto-status').textContent === 'Saved.');
		const saved = (await srv.admin.get('/api/config')).json.auto_train;
		assert.deepEqual(saved, { ...before, enabled: true, reward_every_n_ratings: 7, rl_kind: 'rloo', ...(keys.includes('generate_k') ? { generate_k: 2 } : {}) });

		await page.reload();
		await page.waitForSelector('#auto-reward_every_n_ratings');
		assert.equal(await page.isChecked('#auto-enabled'), true);
		assert.equal(await page.inputValue('#auto-reward_every_n_ratings'), '7');
		assert.equal(await page.inputValue('#auto-rl_kind'), 'rloo');

		// Out of range: the server's message under the field, nothing saved.
		await page.fill('#auto-reward_every_n_ratings', '0');
		await page.click('#auto-form button[type="submit"]');
		await page.waitForSelector('#auto-reward_every_n_ratings-error:not([hidden])');
		assert.match(await page.textContent('#auto-reward_every_n_ratings-error'), /reward_every_n_ratings/);
		assert.equal(await page.getAttribute('#auto-reward_every_n_ratings', 'aria-invalid'), 'true');
		assert.deepEqual((await srv.admin.get('/api/config')).json.auto_train, saved);
		await page.screenshot({ path: '/tmp/rlhfd-training.png', fullPage: true });

		// Job parameters of the loop (when this server has them): JSON checked here, knobs by the server.
		if (keys.includes('rl_params')) {
			await page.fill('#auto-reward_every_n_ratings', '7');
			await page.fill('#auto-rl_params', '{oops');
			await page.click('#auto-form button[type="submit"]');
			await page.waitForSelector('#auto-rl_params-error:not([hidden])');
			assert.match(await page.textContent('#auto-rl_params-error'), /JSON object/);
			await page.fill('#auto-rl_params', '{"bogus": 1}');
			await page.click('#auto-form button[type="submit"]');
			await page.waitForFunction(() => /bogus/.test(document.getElementById('auto-rl_params-error').textContent));
			assert.deepEqual((await srv.admin.get('/api/config')).json.auto_train, saved);
			await page.fill('#auto-rl_params', '{"iterations": 3}');
			await page.click('#auto-form button[type="submit"]');
			await page.waitForFunction(() => document.getElementById('auto-status').textContent === 'Saved.');
			assert.deepEqual((await srv.admin.get('/api/config')).json.auto_train.rl_params, { iterations: 3 });
		}
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	} finally {
		await srv.stop();
	}
});
