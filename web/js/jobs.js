/*
 * web/js/jobs.js — the admin page's Jobs panel: a form that starts any job kind
 * with its main knobs (POST /api/generate, POST /api/train), the job list kept
 * live by polling /api/jobs while something is queued or running (status badge,
 * progress bar, error text, cancel and retry), and one job's detail with a line
 * chart per metric from /api/jobs/{id}/metrics, redrawn as the job runs.
 *
 * The kinds, their parameters, ranges and defaults come from the server's
 * registry (GET /api/jobs/kinds, js/kinds.js): an empty field sends nothing
 * and the server's default applies (shown as the placeholder).  A finished
 * job's detail shows every parameter as it ran (metrics.settings), the ones
 * the request gave marked.
 */
import { api, el, showError } from './api.js';
import { lineChart } from './chart.js';
import { jobKinds, placeholderOf } from './kinds.js';
import {
	formatNumber, formatTime, formatDuration, statusBadge, jobResult, isLive,
	fieldError, clearFieldErrors,
} from './format.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 1200;

/* ---- the form, built from the registry (GET /api/jobs/kinds) ------------------------------ */

/*
 * Each parameter of the chosen kind is a field named after it: the server's
 * default as the placeholder (bools: the initial state; selects: the
 * "default (...)" option), its range as min/max, its help line below.
 * Parameters the registry marks advanced are folded into "More parameters".
 */
let registry = null;        /* jobKinds() */
let models = [];            /* the last /api/models answer */
const typed = {};           /* kind → { field name → value typed }, kept across kind switches */

function fieldId(name) { return `knob-${name}`; }
function paramsOf(kind) { return registry.byName.get(kind).params; }

function modelOptions(p, current) {
	const list = models.filter((m) => p.models.includes(m.kind));
	const opts = [];
	if (!p.required) opts.push(el('option', { value: '', text: 'default' }));
	for (const m of list) {
		const label = `#${m.id} ${m.kind}${m.name ? ' “' + m.name + '”' : ''}${m.active ? ' (active)' : ''}`;
		opts.push(el('option', { value: String(m.id), text: label }));
	}
	if (p.required && !list.length) opts.push(el('option', { value: '', text: 'no model yet' }));
	const sel = el('select', { id: fieldId(p.name), name: p.name }, opts);
	const want = current || (p.required ? String((list.find((m) => m.active) || list[0] || {}).id ?? '') : '');
	if ([...sel.options].some((o) => o.value === want)) sel.value = want;
	return sel;
}

function knobField(p, current) {
	const id = fieldId(p.name);
	const help = el('p', { id: id + '-help', class: 'muted small field-help', text: p.help });
	let input;
	if (p.type === 'bool') {
		input = el('input', { type: 'checkbox', id, name: p.name, 'aria-describedby': help.id });
		input.checked = current === undefined ? p.default === true : current;
		return el('div', { class: 'field check-field' }, el('label', { class: 'check', for: id }, input, p.name), help);
	}
	if (p.type === 'choice') {
		input = el('select', { id, name: p.name },
			el('option', { value: '', text: p.default === null ? 'default' : `default (${p.default})` }),
			p.choices.map((c) => el('option', { value: c, text: c })));
		input.value = current ?? '';
	} else if (p.type === 'model') {
		input = modelOptions(p, current);
	} else {
		const num = p.type === 'int' || p.type === 'number';
		input = el('input', {
			id, name: p.name, type: num ? 'number' : 'text', autocomplete: 'off',
			step: p.type === 'int' ? '1' : num ? 'any' : undefined,
			min: num ? p.min : undefined, max: num ? p.max : undefined,
			inputmode: p.type === 'ids' ? 'numeric' : undefined,
			placeholder: placeholderOf(p),
			maxlength: p.type === 'string' ? p.max_length : undefined,
		});
		input.value = current ?? '';
	}
	input.setAttribute('aria-describedby', help.id);
	return el('div', { class: 'field' }, el('label', { for: id, text: p.name }), input, help);
}

function currentKind() { return $('job-kind').value; }

/* Remembers what was typed for the current kind. */
function keepTyped() {
	const kind = $('job-form').dataset.kind;
	if (!kind) return;
	const vals = {};
	for (const p of paramsOf(kind)) {
		const i = $(fieldId(p.name));
		if (i) vals[p.name] = p.type === 'bool' ? i.checked : i.value;
	}
	typed[kind] = vals;
}

/* What the kind makes, from the registry. */
function kindHelp(k) {
	const makes = k.produces
		? ` Makes a new ${k.produces} version${k.activates ? ', activated unless activate is off' : ''}.`
		: ' Makes no model version.';
	return k.help.charAt(0).toUpperCase() + k.help.slice(1) + '.' + makes;
}

/*
 * A kind that trains a policy against a reward model (ppo, rloo, grpo: a
 * model parameter that takes only reward models) started with no reward
 * model would fail when it runs; the form says so in place as soon as such
 * a kind is chosen, with a shortcut to the reward kind.
 */
function needsRewardModel(kind) {
	const k = registry && registry.byName.get(kind);
	return !!k && k.produces === 'policy' &&
		k.params.some((p) => p.type === 'model' && Array.isArray(p.models) && p.models.length === 1 && p.models[0] === 'reward');
}

function updateRlWarning() {
	const box = $('job-rl-warning');
	const kind = currentKind();
	const show = needsRewardModel(kind) && !models.some((m) => m.kind === 'reward');
	box.hidden = !show;
	if (!show) { box.replaceChildren(); return; }
	const pick = el('button', { type: 'button', class: 'small-btn', text: 'Choose reward', onclick: () => {
		$('job-kind').value = 'reward';
		renderKnobs();
		$('job-kind').focus();
	} });
	box.replaceChildren(el('strong', { text: 'No reward model yet. ' }),
		`A ${kind} job scores the policy's answers with a reward model and would fail without one: ` +
		'train a reward model (kind reward) from the ratings first.', pick);
}

function renderKnobs() {
	keepTyped();
	const kind = currentKind();
	const vals = typed[kind] || {};
	const params = paramsOf(kind);
	$('job-form').dataset.kind = kind;
	$('job-kind-help').textContent = kindHelp(registry.byName.get(kind));
	$('job-knobs').replaceChildren(...params.filter((p) => !p.advanced).map((p) => knobField(p, vals[p.name])));
	$('job-more-knobs').replaceChildren(...params.filter((p) => p.advanced).map((p) => knobField(p, vals[p.name])));
	clearFieldErrors($('job-form'));
	$('job-form-status').textContent = '';
	updateRlWarning();
}

/* The kind select, from the registry (generate first: it is what a fresh server needs). */
function renderKinds() {
	$('job-kind').replaceChildren(...registry.kinds.map((k) => el('option', { value: k.name, text: k.name })));
}

/*
 * The params the form says, or null after marking the fields it cannot read.
 * Empty fields are left out (the server's default applies).
 */
function readParams(kind) {
	const params = {};
	let ok = true;
	for (const p of paramsOf(kind)) {
		const i = $(fieldId(p.name));
		if (!i) continue;
		if (p.type === 'bool') {
			if (i.checked !== (p.default === true)) params[p.name] = i.checked;
			continue;
		}
		const v = i.value.trim();
		if (v === '') {
			if (p.required) { fieldError(i, `Choose a ${p.name}.`); ok = false; }
			continue;
		}
		if (p.type === 'int' || p.type === 'model') {
			const n = Number(v);
			if (!Number.isInteger(n)) { fieldError(i, 'Enter a whole number.'); ok = false; continue; }
			params[p.name] = n;
		} else if (p.type === 'number') {
			const n = Number(v);
			if (!Number.isFinite(n)) { fieldError(i, 'Enter a number.'); ok = false; continue; }
			params[p.name] = n;
		} else if (p.type === 'ids') {
			const ids = v.split(/[\s,]+/).filter(Boolean).map(Number);
			if (!ids.length || !ids.every((n) => Number.isInteger(n) && n > 0)) {
				fieldError(i, 'Enter prompt ids (positive whole numbers) separated by commas.'); ok = false; continue;
			}
			params[p.name] = ids;
		} else {
			params[p.name] = v;
		}
	}
	const extra = $('job-extra').value.trim();
	if (extra) {
		let obj;
		try { obj = JSON.parse(extra); } catch (e) { obj = undefined; }
		if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
			fieldError($('job-extra'), 'Write a JSON object of parameters.');
			$('job-more-box').open = true;
			ok = false;
		} else {
			Object.assign(params, obj);
		}
	}
	return ok ? params : null;
}

/* Puts a server validation error next to the field it names ("params.k", "k"). */
function showServerFieldError(err, kind) {
	const field = (err.field || '').replace(/^params\./, '').replace(/\[\d+\]$/, '');
	const input = paramsOf(kind).some((p) => p.name === field) && $(fieldId(field));
	if (input) {
		if (input.closest('details')) input.closest('details').open = true;
		fieldError(input, err.message);
		input.focus();
		return true;
	}
	if (field && $('job-extra').value.includes(`"${field.split('.')[0]}"`)) {
		$('job-more-box').open = true;
		fieldError($('job-extra'), err.message);
		$('job-extra').focus();
		return true;
	}
	return false;
}

async function startJob(ev) {
	ev.preventDefault();
	const kind = currentKind();
	const form = $('job-form');
	clearFieldErrors(form);
	const status = $('job-form-status');
	const params = readParams(kind);
	if (!params) { status.textContent = 'Check the marked fields.'; return; }
	const btn = $('job-start');
	btn.disabled = true;
	status.textContent = 'Starting…';
	try {
		const r = kind === 'generate' ? await api('POST', '/api/generate', params)
			: await api('POST', '/api/train', { kind, params });
		showError('');
		status.textContent = `Started job #${r.job_id}.`;
		await openJob(r.job_id);
		await refreshList();
	} catch (e) {
		let field = null;
		if (e.status === 400) field = showServerFieldError({ field: e.field, message: e.message }, kind);
		status.textContent = field ? 'The server did not accept a field (marked).' : '';
		if (!field) showError(`Could not start the ${kind} job: ${e.message}`);
	} finally {
		btn.disabled = false;
	}
}

/* ---- the list ------------------------------------------------------------------------ */

let jobs = [];
const rows = new Map();   /* job id → <tr> */
let pollTimer = null;
let panelShown = false;

function progressBar(job) {
	const p = Math.max(0, Math.min(1, Number(job.progress) || 0));
	const bar = el('progress', { max: '1', value: String(p), class: `bar status-${job.status}`, 'aria-label': `Job ${job.id} progress` });
	return el('span', { class: 'progress-cell' }, bar, el('span', { class: 'pct', text: `${Math.round(p * 100)}%` }));
}

function jobActions(job, where) {
	const out = [];
	if (isLive(job) && !job.cancel_requested) {
		out.push(el('button', { type: 'button', class: 'small-btn', 'data-action': 'cancel', 'data-job': job.id, text: 'Cancel',
			'aria-label': `Cancel job ${job.id}`, onclick: () => cancelJob(job.id) }));
	}
	if (job.status === 'failed' || job.status === 'cancelled') {
		out.push(el('button', { type: 'button', class: 'small-btn', 'data-action': 'retry', 'data-job': job.id, text: 'Retry',
			'aria-label': `Retry job ${job.id}`, onclick: () => retryJob(job.id) }));
	}
	if (where === 'row') {
		out.push(el('button', { type: 'button', class: 'small-btn', 'data-action': 'open', 'data-job': job.id, text: 'Details',
			'aria-label': `Details of job ${job.id}`, onclick: () => { location.hash = `#jobs/${job.id}`; } }));
	}
	return out;
}

/*
 * Progress bar, badge and actions are updated in place rather than rebuilt, so
 * a polled row keeps keyboard focus on its buttons and the bar animates.
 */
function setProgress(cell, job) {
	const p = Math.max(0, Math.min(1, Number(job.progress) || 0));
	let bar = cell.querySelector('progress');
	if (!bar) { cell.replaceChildren(progressBar(job)); return; }
	bar.value = p;
	bar.setAttribute('class', `bar status-${job.status}`);
	cell.querySelector('.pct').textContent = `${Math.round(p * 100)}%`;
}

function setActions(cell, job, where) {
	const want = jobActions(job, where);
	const key = want.map((b) => b.dataset.action).join(' ');
	if (cell.dataset.actions === key) return;
	cell.dataset.actions = key;
	cell.replaceChildren(...want);
}

function setBadge(cell, job) {
	const b = statusBadge(job);
	const old = cell.firstElementChild;
	if (!old || old.textContent !== b.textContent || old.className !== b.className) cell.replaceChildren(b);
}

function fillRow(tr, job) {
	if (!tr.cells.length) {
		tr.append(
			el('td', { class: 'num', text: String(job.id) }),
			el('td', {}, el('span', { class: 'kind', text: job.kind }), job.params && job.params.auto ? el('span', { class: 'pill auto', text: 'auto', title: 'queued by automatic training' }) : null),
			el('td'), el('td'),
			el('td', { text: formatTime(job.created_at), title: job.created_at || '' }),
			el('td', { class: 'num' }), el('td'), el('td', { class: 'actions' }));
	}
	const c = tr.cells;
	tr.dataset.status = job.status;
	tr.classList.toggle('selected', detailId === job.id);
	setBadge(c[2], job);
	setProgress(c[3], job);
	c[5].textContent = formatDuration(job.started_at, job.finished_at);
	c[6].className = job.status === 'failed' ? 'result error' : 'result';
	c[6].textContent = jobResult(job);
	setActions(c[7], job, 'row');
}

function renderList() {
	const tbody = $('jobs').tBodies[0];
	if (!jobs.length) {
		rows.clear();
		tbody.replaceChildren(el('tr', {}, el('td', { colspan: '8', class: 'muted', text: 'No jobs yet. Start one above.' })));
		return;
	}
	const seen = new Set();
	for (const job of jobs) {
		let tr = rows.get(job.id);
		if (!tr) {
			tr = el('tr', { 'data-job': job.id });
			rows.set(job.id, tr);
		}
		fillRow(tr, job);
		seen.add(job.id);
	}
	for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
	const want = jobs.map((j) => rows.get(j.id));
	const have = [...tbody.children];
	if (want.length !== have.length || want.some((tr, i) => tr !== have[i])) tbody.replaceChildren(...want);
}

async function refreshList() {
	const r = await api('GET', '/api/jobs');
	const wasLive = new Set(jobs.filter(isLive).map((j) => j.id));
	jobs = r.jobs || [];
	renderList();
	// a job that just made a version: the form's model lists learn about it
	if (jobs.some((j) => wasLive.has(j.id) && j.status === 'succeeded' && j.model_id && j.kind !== 'eval')) {
		await loadModels();
		refreshModelSelects();
		updateRlWarning();
	}
	const live = jobs.filter(isLive).length;
	$('jobs-live').textContent = live ? `${live} active · updating` : `updated ${formatTime(new Date().toISOString())}`;
}

function anythingLive() {
	return jobs.some(isLive) || (detailJob && isLive(detailJob));
}

/* Polls while the panel is shown, the page visible and a job queued or running. */
function schedule() {
	clearTimeout(pollTimer);
	pollTimer = null;
	if (!panelShown || document.visibilityState === 'hidden' || !anythingLive()) return;
	pollTimer = setTimeout(tick, POLL_MS);
}

async function tick() {
	try {
		await refreshList();
		if (detailId !== null) await refreshDetail();
	} catch (e) {
		showError(e.message);
	} finally {
		schedule();
	}
}

async function cancelJob(id) {
	try {
		await api('POST', `/api/jobs/${id}/cancel`, {});
		showError('');
	} catch (e) {
		showError(`Could not cancel job #${id}: ${e.message}`);
	}
	await tick();
}

async function retryJob(id) {
	try {
		const r = await api('POST', `/api/jobs/${id}/retry`, {});
		showError('');
		$('job-form-status').textContent = `Job #${id} queued again as #${r.job_id}.`;
		location.hash = `#jobs/${r.job_id}`;
	} catch (e) {
		showError(`Could not retry job #${id}: ${e.message}`);
	}
	await tick();
}

/* ---- one job ---------------------------------------------------------------------------- */

let detailId = null;
let detailJob = null;
const chartStates = new Map();   /* `${job}/${title}` → read-out state kept across redraws */

/* Metric names drawn together, in this order; the rest get a chart each. */
const CHART_GROUPS = [
	{ title: 'Loss', names: ['loss'] },
	{ title: 'Reward', names: ['reward_mean', 'rlhf_reward', 'reward'] },
	{ title: 'KL to reference', names: ['kl', 'approx_kl'] },
	{ title: 'Entropy', names: ['entropy'] },
	{ title: 'Accuracy', names: ['acc', 'heldout_acc', 'heldout_acc_network', 'reward_acc'], yMin: 0, yMax: 1 },
	{ title: 'Implicit rewards', names: ['chosen_reward', 'rejected_reward'] },
	{ title: 'Margin', names: ['margin'] },
	{ title: 'Policy and value loss', names: ['policy_loss', 'value_loss'] },
	{ title: 'Clip fraction', names: ['clipfrac', 'value_clipfrac'], yMin: 0 },
	{ title: 'KL coefficient', names: ['kl_beta'] },
	{ title: 'Answer length (tokens)', names: ['response_len'], yMin: 0 },
	{ title: 'EOS rate', names: ['eos_rate'], yMin: 0, yMax: 1 },
	{ title: 'Gradient norm', names: ['grad_norm'], yMin: 0 },
	{ title: 'Throughput (tokens/s)', names: ['tokens_per_sec'], yMin: 0 },
	{ title: 'Learning rate', names: ['lr'], yMin: 0 },
];

function xLabelOf(kind) {
	if (kind === 'generate') return 'prompt';
	if (kind === 'eval') return 'answer';
	if (kind === 'ppo' || kind === 'rloo' || kind === 'grpo') return 'iteration';
	return 'step';
}

function drawCharts(job, series) {
	const byName = new Map();
	for (const p of series) {
		if (!byName.has(p.name)) byName.set(p.name, []);
		byName.get(p.name).push([p.step, p.value]);
	}
	const groups = [];
	const used = new Set();
	for (const g of CHART_GROUPS) {
		const names = g.names.filter((n) => byName.has(n));
		if (!names.length) continue;
		names.forEach((n) => used.add(n));
		groups.push({ ...g, names });
	}
	for (const n of [...byName.keys()].sort()) if (!used.has(n)) groups.push({ title: n, names: [n] });
	const box = $('job-charts');
	const sig = `${job.id}:${job.status}:${series.length}`;
	if (box.dataset.sig === sig) return;
	box.dataset.sig = sig;
	if (!groups.length) {
		box.replaceChildren(el('p', { class: 'muted', text: isLive(job) ? 'Waiting for the first step…' : 'This job recorded no per-step values.' }));
		return;
	}
	const xLabel = xLabelOf(job.kind);
	const figs = groups.map((g) => {
		const key = `${job.id}/${g.title}`;
		if (!chartStates.has(key)) chartStates.set(key, {});
		const fig = lineChart(g.names.map((n) => ({ name: n, points: byName.get(n) })), {
			title: g.title, xLabel, integerX: true, yMin: g.yMin, yMax: g.yMax, state: chartStates.get(key), legend: true,
		});
		fig.dataset.chart = g.title;
		return fig;
	});
	// A chart explored with the keyboard keeps focus and its read-out across the redraw.
	const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest('#job-charts figure') : null;
	const fkey = focused ? `${job.id}/${focused.dataset.chart}` : null;
	const kept = fkey && chartStates.has(fkey) ? chartStates.get(fkey).x : null;
	box.replaceChildren(...figs);
	if (fkey) {
		chartStates.get(fkey).x = kept;
		const svg = figs.find((f) => `${job.id}/${f.dataset.chart}` === fkey)?.querySelector('svg');
		if (svg) svg.focus({ preventScroll: true });
	}
}

function fact(dl, label, value, cls) {
	dl.append(el('dt', { text: label }), el('dd', { class: cls, text: value }));
}

function renderDetail(job, series) {
	$('job-detail').hidden = false;
	$('job-detail').dataset.job = String(job.id);
	$('job-detail').dataset.status = job.status;
	$('job-detail-title').textContent = `Job #${job.id} · ${job.kind}`;
	setBadge($('job-detail-status'), job);
	setActions($('job-detail-actions'), job, 'detail');
	setProgress($('job-detail-progress'), job);
	const err = $('job-detail-error');
	err.textContent = job.status === 'failed' ? (job.error || 'failed') : '';
	err.hidden = job.status !== 'failed';

	const facts = $('job-detail-facts');
	facts.replaceChildren();
	fact(facts, 'created', formatTime(job.created_at));
	fact(facts, 'started', formatTime(job.started_at));
	fact(facts, 'finished', formatTime(job.finished_at));
	if (job.started_at) fact(facts, 'took', formatDuration(job.started_at, job.finished_at));
	if (job.model_id) {
		const dd = el('dd', {}, el('a', { href: '#models', text: `#${job.model_id}` }));
		facts.append(el('dt', { text: job.kind === 'eval' ? 'model evaluated' : 'model made' }), dd);
	}

	// Every parameter as the job ran it once it has ended (metrics.settings), the
	// given ones plain and the defaults muted; until then what the request gave.
	const params = $('job-detail-params');
	params.replaceChildren();
	const given = job.params || {};
	const settings = job.metrics && job.metrics.settings;
	const pe = Object.entries(settings || given);
	if (!pe.length) params.append(el('dt', { class: 'muted', text: 'all defaults' }), el('dd'));
	for (const [k, v] of pe) {
		const text = v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);
		const isDefault = settings && !(k in given);
		fact(params, k, text, isDefault ? 'mono muted' : 'mono');
		if (isDefault) params.lastElementChild.title = 'the default';
	}

	const results = $('job-detail-results');
	results.replaceChildren();
	const me = Object.entries(job.metrics || {}).filter(([k]) => k !== 'settings');
	for (const [k, v] of me) fact(results, k, typeof v === 'number' ? formatNumber(v) : typeof v === 'object' ? JSON.stringify(v) : String(v));
	$('job-detail-results-box').hidden = me.length === 0;

	drawCharts(job, series);
	for (const [id, tr] of rows) tr.classList.toggle('selected', id === job.id);
}

async function refreshDetail() {
	const id = detailId;
	const wasLive = detailJob && detailJob.id === id && isLive(detailJob);
	if (detailJob && detailJob.id === id && !wasLive && detailJob.rendered) return;
	const [job, m] = await Promise.all([api('GET', `/api/jobs/${id}`), api('GET', `/api/jobs/${id}/metrics`)]);
	if (id !== detailId) return;
	detailJob = job;
	renderDetail(job, m.series || []);
	detailJob.rendered = true;
}

async function openJob(id, { scroll = false } = {}) {
	if (detailId !== id) { detailId = id; detailJob = null; }
	if (location.hash !== `#jobs/${id}`) history.replaceState(null, '', `#jobs/${id}`);
	await refreshDetail();
	if (scroll) $('job-detail').scrollIntoView({ block: 'start', behavior: 'smooth' });
	schedule();
}

function closeJob() {
	detailId = null;
	detailJob = null;
	$('job-detail').hidden = true;
	for (const tr of rows.values()) tr.classList.remove('selected');
	history.replaceState(null, '', '#jobs');
}

/* Rebuilds the model selects' options (after a new version), keeping the choice. */
function refreshModelSelects() {
	const kind = $('job-form').dataset.kind;
	if (!kind) return;
	for (const p of paramsOf(kind)) {
		if (p.type !== 'model') continue;
		const old = $(fieldId(p.name));
		if (!old || old === document.activeElement) continue;
		const sel = modelOptions(p, old.value);
		for (const a of ['aria-describedby', 'aria-invalid']) if (old.hasAttribute(a)) sel.setAttribute(a, old.getAttribute(a));
		old.replaceWith(sel);
	}
}

/* ---- wiring --------------------------------------------------------------------------------- */

async function loadModels() {
	try {
		models = (await api('GET', '/api/models')).models || [];
	} catch (e) {
		models = [];
		throw e;
	}
}

/*
 * Sets the panel up; loaders.jobs(arg) is what admin.js calls when the tab is
 * shown (arg: the job id from "#jobs/<id>", if any); onHide stops the polling.
 */
export function initJobs(loaders, onHide) {
	$('job-kind').addEventListener('change', renderKnobs);
	$('job-form').addEventListener('submit', startJob);
	$('jobs-refresh').addEventListener('click', () => tick());
	$('job-detail-close').addEventListener('click', closeJob);
	document.addEventListener('visibilitychange', () => { if (panelShown && document.visibilityState === 'visible') tick(); else schedule(); });
	onHide('jobs', () => { panelShown = false; schedule(); });

	loaders.jobs = async (arg) => {
		panelShown = true;
		await loadModels();
		if (!registry) {
			registry = await jobKinds();
			renderKinds();
		}
		if (!$('job-form').dataset.kind) renderKnobs();
		else { refreshModelSelects(); updateRlWarning(); }
		await refreshList();
		const id = Number(arg);
		if (Number.isInteger(id) && id > 0) await openJob(id, { scroll: true });
		else if (detailId !== null) await refreshDetail();
		schedule();
	};
}
