/*
 * web/js/autotrain.js — the admin page's Training panel: the auto-training
 * settings (the auto_train object of GET/PUT /api/config) and the jobs the loop
 * queued.  The form shows the keys the server has — the ones the registry
 * describes (GET /api/jobs/kinds' auto_train, js/kinds.js) with their control,
 * range and help, any other one by its JSON type — and puts the server's
 * validation message (error.field "auto_train.<key>[.<sub>]") under the field.
 * Above the form: how many ratings remain before the next round (GET
 * /api/stats' auto_train, counted as the worker counts), kept current while
 * the panel is shown.  Below it: the reward models' learning curve, held-out
 * pairwise accuracy with its 95 % interval against the ratings each was
 * trained on (GET /api/models, each reward version's metrics).
 */
import { api, el, showError } from './api.js';
import { formatTime, statusBadge, jobResult, fieldError, clearFieldErrors } from './format.js';
import { jobKinds } from './kinds.js';
import { lineChart } from './chart.js';

const $ = (id) => document.getElementById(id);

let known = new Map();   /* key → its description in GET /api/jobs/kinds' auto_train.params */
let current = {};        /* the auto_train object last read */

function fid(key) { return `auto-${key.replace(/[^a-z0-9_]/gi, '_')}`; }

/* The control a key gets: its registry type, else its JSON type. */
function typeOf(key, v) {
	const k = known.get(key);
	if (k) return k.type === 'params' ? 'json' : k.type;
	if (typeof v === 'boolean') return 'bool';
	if (Number.isInteger(v)) return 'int';
	if (typeof v === 'number') return 'number';
	if (typeof v === 'string') return 'text';
	return 'json';
}

function field(key, v) {
	const k = known.get(key) || {};
	const type = typeOf(key, v);
	const id = fid(key);
	const help = k.help ? el('p', { id: id + '-help', class: 'muted small', text: k.help }) : null;
	let input;
	if (type === 'bool') {
		input = el('input', { type: 'checkbox', id, 'data-key': key });
		input.checked = !!v;
		const wrap = el('div', { class: 'field check-field' }, el('label', { class: 'check', for: id }, input, key), help);
		if (help) input.setAttribute('aria-describedby', help.id);
		return wrap;
	}
	if (type === 'choice') {
		const values = k.choices.includes(v) ? k.choices : [...k.choices, v];
		input = el('select', { id, 'data-key': key }, values.map((x) => el('option', { value: x, text: x })));
		input.value = v;
	} else if (type === 'json') {
		input = el('textarea', { id, 'data-key': key, rows: '2', spellcheck: 'false', class: 'mono' });
		input.value = JSON.stringify(v ?? {});
	} else {
		const num = type === 'int' || type === 'number';
		input = el('input', { id, 'data-key': key, type: num ? 'number' : 'text', step: type === 'int' ? '1' : num ? 'any' : undefined,
			min: k.min, max: k.max, class: num ? 'short' : undefined, autocomplete: 'off' });
		input.value = v ?? '';
	}
	if (help) input.setAttribute('aria-describedby', help.id);
	input.dataset.type = type;
	return el('div', { class: 'field' }, el('label', { for: id, text: key }), input, help);
}

function render(at) {
	current = at || {};
	const keys = [...[...known.keys()].filter((k) => k in current), ...Object.keys(current).filter((k) => !known.has(k)).sort()];
	$('auto-fields').replaceChildren(...keys.map((k) => field(k, current[k])));
	clearFieldErrors($('auto-form'));
}

/* The auto_train object the form says, or null after marking what it cannot read. */
function read() {
	const out = {};
	let ok = true;
	for (const input of $('auto-fields').querySelectorAll('[data-key]')) {
		const key = input.dataset.key, type = input.dataset.type || 'bool';
		if (input.type === 'checkbox') { out[key] = input.checked; continue; }
		const v = input.value.trim();
		if (type === 'int' || type === 'number') {
			const n = Number(v);
			if (v === '' || !Number.isFinite(n) || (type === 'int' && !Number.isInteger(n))) {
				fieldError(input, type === 'int' ? 'Enter a whole number.' : 'Enter a number.');
				ok = false;
				continue;
			}
			out[key] = n;
		} else if (type === 'json') {
			let obj;
			try { obj = JSON.parse(v || '{}'); } catch (e) { obj = undefined; }
			const was = current[key], wantArray = Array.isArray(was);
			const shapeOk = was === null || typeof was !== 'object' ||
				(obj !== null && typeof obj === 'object' && Array.isArray(obj) === wantArray);
			if (obj === undefined || !shapeOk) {
				fieldError(input, wantArray ? 'Write a JSON array.' : 'Write a JSON object of job parameters.');
				ok = false;
				continue;
			}
			out[key] = obj;
		} else {
			out[key] = v;
		}
	}
	return ok ? out : null;
}

async function save(ev) {
	ev.preventDefault();
	clearFieldErrors($('auto-form'));
	const status = $('auto-status');
	const body = read();
	if (!body) { status.textContent = 'Check the marked fields.'; return; }
	status.textContent = 'Saving…';
	try {
		const cfg = await api('PUT', '/api/config', { auto_train: body });
		showError('');
		render(cfg.auto_train);
		status.textContent = 'Saved.';
		refreshCountdown().catch(() => {});
	} catch (e) {
		status.textContent = '';
		const m = /^auto_train\.([^.[]+)/.exec(e.field || '');
		const input = m && document.querySelector(`#auto-fields [data-key="${CSS.escape(m[1])}"]`);
		if (e.status === 400 && input) {
			fieldError(input, e.message);
			input.focus();
			status.textContent = 'Not saved: the server did not accept a field (marked).';
		} else {
			showError(`Could not save the auto-training settings: ${e.message}`);
		}
	}
}

async function loadAutoJobs() {
	const jobs = ((await api('GET', '/api/jobs')).jobs || []).filter((j) => j.params && j.params.auto);
	$('auto-jobs').tBodies[0].replaceChildren(...(jobs.length ? jobs.slice(0, 30).map((j) => el('tr', { 'data-job': j.id },
		el('td', { class: 'num' }, el('a', { href: `#jobs/${j.id}`, text: `#${j.id}` })),
		el('td', { text: j.kind }), el('td', {}, statusBadge(j)),
		el('td', { text: formatTime(j.created_at) }),
		el('td', { class: j.status === 'failed' ? 'result error' : 'result', text: jobResult(j) })))
		: [el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'None yet.' }))]));
}

const curveState = {};

/* The reward versions with a held-out accuracy, as [ratings, acc, lo, hi] points. */
function rewardCurvePoints(models) {
	const num = (v) => typeof v === 'number' && Number.isFinite(v);
	return models.filter((m) => m.kind === 'reward' && num((m.metrics || {}).heldout_acc)).map((m) => {
		const x = m.metrics;
		const n = num(x.ratings) ? x.ratings : m.ratings;
		return num(x.heldout_lo) && num(x.heldout_hi) ? [n, x.heldout_acc, x.heldout_lo, x.heldout_hi] : [n, x.heldout_acc];
	});
}

async function loadCurves() {
	const models = (await api('GET', '/api/models')).models || [];
	const pts = rewardCurvePoints(models);
	const box = $('auto-curves');
	if (!pts.length) {
		box.replaceChildren(el('p', { class: 'muted', text: 'No reward model yet: one is trained from the ratings by a reward job (the loop runs one every N ratings).' }));
		return;
	}
	const f = lineChart([{ name: 'held-out accuracy', points: pts }],
		{ title: 'Reward models: held-out pairwise accuracy (95% interval) by ratings trained on', xLabel: 'ratings', integerX: true,
			yMin: 0.4, yMax: 1, state: curveState, legend: true });
	f.dataset.chart = 'reward-curve';
	box.replaceChildren(f);
}

const COUNTDOWN_POLL_MS = 5000;
let countdownTimer = null;
let shown = false;

/* The sentence for GET /api/stats' auto_train {enabled, every, since_last, remaining, busy}. */
function countdownText(at) {
	const n = (k) => `${k} rating${k === 1 ? '' : 's'}`;
	const more = (k) => `${k} more rating${k === 1 ? '' : 's'}`;
	const counted = `${n(at.since_last)} of ${at.every} since the last reward model`;
	if (at.busy) return `A round is running now (${counted}); the next one counts the ratings after it.`;
	if (!at.enabled)
		return `Automatic training is off. Switched on, a round would start ${at.remaining ? `after ${more(at.remaining)}` : 'now'} (${counted}).`;
	if (!at.remaining) return `Enough new ratings (${counted}): the next round starts as soon as the job queue is empty.`;
	return `The next round starts after ${more(at.remaining)} (${counted}).`;
}

async function refreshCountdown() {
	clearTimeout(countdownTimer);
	countdownTimer = null;
	try {
		const at = (await api('GET', '/api/stats')).auto_train;
		const box = $('auto-countdown');
		box.hidden = !at;
		if (at) {
			box.textContent = countdownText(at);
			box.dataset.remaining = String(at.remaining);
		}
	} finally {
		if (shown && document.visibilityState === 'visible')
			countdownTimer = setTimeout(() => refreshCountdown().catch((e) => showError(e.message)), COUNTDOWN_POLL_MS);
	}
}

async function load() {
	shown = true;
	known = new Map((await jobKinds()).autoTrain.map((p) => [p.name, p]));
	const cfg = await api('GET', '/api/config');
	render(cfg.auto_train || {});
	$('auto-status').textContent = '';
	await loadAutoJobs();
	await loadCurves();
	await refreshCountdown();
}

/* loaders.training is what admin.js calls when the tab is shown; onHide
 * stops the countdown's polling. */
export function initAutoTrain(loaders, onHide) {
	onHide('training', () => { shown = false; clearTimeout(countdownTimer); countdownTimer = null; });
	document.addEventListener('visibilitychange', () => {
		if (shown && document.visibilityState === 'visible') refreshCountdown().catch((e) => showError(e.message));
	});
	$('auto-form').addEventListener('submit', save);
	$('auto-reload').addEventListener('click', () => load().catch((e) => showError(e.message)));
	loaders.training = load;
}
