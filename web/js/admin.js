/*
 * web/js/admin.js — the admin page: counts, the score histogram, agreement and
 * per-rater counts (GET /api/stats); creating, disabling and re-keying raters
 * (a token is shown once); browsing
 * prompts; importing a JSONL/JSON file; export links; task-assignment settings.
 * The Jobs, Models, Training and Disagreements panels live in js/jobs.js,
 * js/models.js, js/autotrain.js and js/disagree.js.  The hash names the tab
 * ("#models"), optionally with an argument for its loader ("#jobs/12" opens
 * job 12, "#prompts/3" prompt 3).
 */
import { api, el, showError, whoami, setupHeader } from './api.js';
import { barChart } from './chart.js';
import { initJobs } from './jobs.js';
import { initModels } from './models.js';
import { initAutoTrain } from './autotrain.js';
import { initDisagreements } from './disagree.js';
import { initDemog } from './admin_demog.js';
import { initQueue } from './queue.js';
import { initQuality, renderRaterQuality, renderGoldControls } from './quality.js';
import { initReview } from './review.js';
import { renderPrompt } from './chat.js';

const $ = (id) => document.getElementById(id);

/* ---- tabs ------------------------------------------------------------------------------ */

const tabs = [...document.querySelectorAll('[role="tab"]')];
const loaders = {};
const hiders = {};
let shownTab = null;

/* Shows the tab named by target ("jobs" or "jobs/12"); its loader gets the argument. */
function selectTab(target, focus = false) {
	let [name, ...rest] = String(target || '').split('/');
	if (!tabs.some((t) => t.dataset.tab === name)) { name = 'overview'; rest = []; }
	const arg = rest.join('/');
	for (const t of tabs) {
		const on = t.dataset.tab === name;
		t.setAttribute('aria-selected', on ? 'true' : 'false');
		t.tabIndex = on ? 0 : -1;
		$(t.getAttribute('aria-controls')).hidden = !on;
		if (on && focus) t.focus();
	}
	if (shownTab && shownTab !== name && hiders[shownTab]) hiders[shownTab]();
	shownTab = name;
	const hash = '#' + name + (arg ? '/' + arg : '');
	if (location.hash !== hash) history.replaceState(null, '', hash);
	if (loaders[name]) loaders[name](arg || undefined).catch((e) => showError(e.message));
}

tabs.forEach((t, i) => {
	t.addEventListener('click', () => selectTab(t.dataset.tab));
	t.addEventListener('keydown', (ev) => {
		let j = null;
		if (ev.key === 'ArrowRight') j = (i + 1) % tabs.length;
		else if (ev.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
		else if (ev.key === 'Home') j = 0;
		else if (ev.key === 'End') j = tabs.length - 1;
		if (j !== null) { ev.preventDefault(); selectTab(tabs[j].dataset.tab, true); }
	});
});

/* ---- overview ---------------------------------------------------------------------------- */

function tile(label, value) {
	return el('div', { class: 'tile card' }, el('div', { class: 'tile-value', text: String(value ?? 0) }), el('div', { class: 'tile-label', text: label }));
}

/*
 * The Overview refreshes itself every OVERVIEW_POLL_MS while it is the shown
 * tab and the page is visible (a rating made anywhere shows up without a
 * reload); switching away or hiding the page stops the timer.
 */
const OVERVIEW_POLL_MS = 4000;
let overviewTimer = null;

function scheduleOverview() {
	clearTimeout(overviewTimer);
	overviewTimer = null;
	if (shownTab !== 'overview' || document.visibilityState !== 'visible') return;
	overviewTimer = setTimeout(() => {
		loaders.overview().then(() => showError(''), (e) => { showError(e.message); scheduleOverview(); });
	}, OVERVIEW_POLL_MS);
}
hiders.overview = () => { clearTimeout(overviewTimer); overviewTimer = null; };
document.addEventListener('visibilitychange', () => {
	if (shownTab !== 'overview') return;
	if (document.visibilityState === 'visible') loaders.overview().catch((e) => showError(e.message));
	else hiders.overview();
});

loaders.overview = async () => {
	clearTimeout(overviewTimer);
	let st;
	try { st = await api('GET', '/api/stats'); } finally { scheduleOverview(); }
	$('overview-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
	$('counts').replaceChildren(
		tile('prompts', st.prompts), tile('answers', st.responses),
		tile('ratings', st.ratings), tile('raters', st.raters));

	const hist = Array.isArray(st.score_histogram) ? st.score_histogram.slice(0, 5) : [0, 0, 0, 0, 0];
	while (hist.length < 5) hist.push(0);
	$('histogram').replaceChildren(barChart(hist, ['1', '2', '3', '4', '5'], 'Number of ratings per score'));

	const ag = st.agreement || {};
	const alpha = typeof ag.alpha === 'number' ? ag.alpha.toFixed(3) : '—';
	$('agreement').replaceChildren(
		el('dl', { class: 'facts' },
			el('dt', { text: "Krippendorff's α (interval)" }), el('dd', { id: 'alpha', text: alpha }),
			el('dt', { text: 'groups rated by ≥ 2 raters' }), el('dd', { id: 'alpha-groups', text: String(ag.groups ?? 0) }),
			el('dt', { text: 'pairable ratings' }), el('dd', { id: 'alpha-pairs', text: String(ag.pairs ?? 0) })),
		el('p', { class: 'muted small', text: typeof ag.alpha === 'number'
			? 'α = 1 is perfect agreement, 0 is chance level, below 0 is systematic disagreement.'
			: 'Agreement appears once at least two raters have scored the same answers (set "Raters per answer group" above 1).' }));

	const rows = (st.per_rater || []).map((r) => el('tr', {}, el('td', { text: r.name }), el('td', { class: 'num', text: String(r.ratings) })));
	$('per-rater').tBodies[0].replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '2', class: 'muted', text: 'No ratings yet.' }))]));
	renderRaterQuality(st);
};

/* ---- raters ------------------------------------------------------------------------------- */

/* Shows a token once in the token box (after creating a rater or a new token). */
function showToken(who, token) {
	$('new-token-who').textContent = who;
	$('new-token-value').value = token;
	$('copy-status').textContent = '';
	$('new-token').hidden = false;
	$('new-token-value').select();
}

/*
 * A button whose action asks first, in place: the first click turns it into
 * "Confirm: <what>" for five seconds, a second click runs act.  No native
 * dialog (they block the page and are easy to click through).
 */
function confirmButton(label, aria, confirmText, act) {
	const b = el('button', { type: 'button', class: 'small', text: label, 'aria-label': aria });
	let timer = null;
	const reset = () => { clearTimeout(timer); timer = null; b.textContent = label; b.setAttribute('aria-label', aria); b.classList.remove('armed'); };
	b.addEventListener('click', async () => {
		if (!timer) {
			b.textContent = `Confirm: ${confirmText}`;
			b.setAttribute('aria-label', `Confirm: ${confirmText}`);
			b.classList.add('armed');
			timer = setTimeout(reset, 5000);
			return;
		}
		reset();
		await act();
	});
	return b;
}

/* Disable / enable and new-token buttons of one rater's row. */
function raterActions(r) {
	const setDisabled = async (disabled) => {
		try {
			await api('PATCH', `/api/raters/${r.id}`, { disabled });
			showError('');
			await loaders.raters();
		} catch (e) { showError(`Could not change ${r.name}: ${e.message}`); }
	};
	const toggle = r.disabled
		? el('button', { type: 'button', class: 'small', text: 'Enable', 'aria-label': `Enable ${r.name}`, onclick: () => setDisabled(false) })
		: confirmButton('Disable', `Disable ${r.name}`, `disable ${r.name} (token and sessions stop at once)`, () => setDisabled(true));
	const rotate = confirmButton('New token', `New token for ${r.name}`, `new token for ${r.name} (the old one stops)`, async () => {
		try {
			const t = await api('POST', `/api/raters/${r.id}/token`, {});
			showError('');
			showToken(`${r.name} (${r.role}), new token`, t.token);
		} catch (e) { showError(`Could not give ${r.name} a new token: ${e.message}`); }
	});
	return el('td', { class: 'actions' }, toggle, ' ', rotate);
}

loaders.raters = async () => {
	const { raters } = await api('GET', '/api/raters');
	$('raters').tBodies[0].replaceChildren(...raters.map((r) => el('tr', r.disabled ? { class: 'disabled' } : {},
		el('td', { class: 'num', text: String(r.id) }), el('td', { text: r.name }),
		el('td', {}, el('span', { class: `pill ${r.role}`, text: r.role }),
			r.disabled ? el('span', { class: 'pill disabled', text: 'disabled' }) : ''),
		el('td', { class: 'num', text: String(r.ratings ?? 0) }),
		raterActions(r))));
};

$('rater-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const name = $('rater-name').value.trim();
	if (!name) { showError('Give the rater a name.'); $('rater-name').focus(); return; }
	try {
		const r = await api('POST', '/api/raters', { name, role: $('rater-role').value });
		showError('');
		$('rater-name').value = '';
		showToken(`${r.name} (${r.role})`, r.token);
		await loaders.raters();
	} catch (e) { showError(`Could not create the rater: ${e.message}`); }
});

$('copy-token').addEventListener('click', async () => {
	const input = $('new-token-value');
	try {
		await navigator.clipboard.writeText(input.value);
	} catch (e) {
		input.select();
		document.execCommand('copy');
	}
	$('copy-status').textContent = 'Copied to the clipboard.';
});

/* The token is forgotten for good once dismissed. */
$('hide-token').addEventListener('click', () => {
	$('new-token-value').value = '';
	$('new-token').hidden = true;
	$('rater-name').focus();
});

/* ---- prompts ------------------------------------------------------------------------------- */

const PAGE = 50;
let promptsAfter = null;

async function loadPrompts(after) {
	const q = new URLSearchParams({ limit: String(PAGE) });
	const split = $('prompt-split').value;
	if (split) q.set('split', split);
	if (after !== null && after !== undefined) q.set('after', String(after));
	const res = await api('GET', `/api/prompts?${q}`);
	const rows = res.prompts.map((p) => {
		const link = el('button', { type: 'button', class: 'link', text: p.text.length > 140 ? p.text.slice(0, 140) + '…' : p.text });
		link.addEventListener('click', () => showPrompt(p.id).catch((e) => showError(e.message)));
		return el('tr', {}, el('td', { class: 'num', text: String(p.id) }), el('td', {}, link),
			el('td', { text: p.split || '' }), el('td', { class: 'num', text: String(p.responses ?? 0) }),
			el('td', { class: 'num', text: String(p.ratings ?? 0) }));
	});
	$('prompts').tBodies[0].replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'No prompts.' }))]));
	promptsAfter = res.next_after ?? null;
	$('prompts-more').disabled = promptsAfter === null;
}

async function showPrompt(id) {
	const p = await api('GET', `/api/prompts/${id}`);
	$('prompt-detail-id').textContent = `#${p.id}`;
	renderPrompt($('prompt-detail-text'), p.text, p.messages);
	const items = (p.responses || []).map((r) => el('div', { class: 'response-row' },
		el('div', { class: 'muted small', text: `answer #${r.id} · group ${r.group_id}` +
			(r.explore ? ' (explore: asked again as no answer was rated 4 or more; not in people\'s verdict)' : '') +
			` · model ${r.model_id ?? r.model ?? '—'} · ` +
			`${(r.ratings || []).length} ratings · mean ${typeof r.mean_score === 'number' ? r.mean_score.toFixed(2) : '—'}` +
			(typeof r.rm_score === 'number' ? ` · reward model #${r.rm_model_id}: ${r.rm_score.toFixed(2)}` : '') }),
		el('div', { class: 'answer-text', text: r.text })));
	$('prompt-detail-responses').replaceChildren(...(items.length ? items : [el('p', { class: 'muted', text: 'No answers yet.' })]));
	renderGoldControls(p, () => showPrompt(id));
	$('prompt-detail').hidden = false;
	$('prompt-detail').scrollIntoView({ block: 'nearest' });
}

/* "#prompts/3" shows prompt 3 below the list (the Disagreements panel links there). */
loaders.prompts = async (arg) => {
	await loadPrompts(null);
	if (arg && /^[0-9]+$/.test(arg)) await showPrompt(Number(arg));
};
$('prompt-split').addEventListener('change', () => loadPrompts(null).catch((e) => showError(e.message)));
$('prompts-first').addEventListener('click', () => loadPrompts(null).catch((e) => showError(e.message)));
$('prompts-more').addEventListener('click', () => loadPrompts(promptsAfter).catch((e) => showError(e.message)));

/* ---- import / export ------------------------------------------------------------------------ */

$('import-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const file = $('import-file').files[0];
	if (!file) { showError('Choose a file to import.'); return; }
	const status = $('import-status');
	status.textContent = `Importing ${file.name}…`;
	try {
		// Over the server's body cap the upload would be refused (413); say so up front.
		const cap = (await api('GET', '/api/config')).max_body_bytes;
		if (cap && file.size > cap) {
			status.textContent = '';
			showError(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the server accepts at most ` +
				`${(cap / 1048576).toFixed(1)} MB per upload. Split the file into smaller parts.`);
			return;
		}
		const text = await file.text();
		const isJson = /\.json$/i.test(file.name);
		const res = await api('POST', '/api/prompts', text, { contentType: isJson ? 'application/json' : 'application/x-ndjson' });
		showError('');
		status.textContent = `Imported ${res.inserted} prompt${res.inserted === 1 ? '' : 's'} from ${file.name}.`;
		$('import-file').value = '';
	} catch (e) {
		status.textContent = '';
		showError(`Import failed: ${e.message}`);
	}
});

function updateExportLinks() {
	const base = new URLSearchParams();
	const split = $('exp-split').value, since = $('exp-since').value, minRaters = $('exp-min-raters').value;
	if (split) base.set('split', split);
	if (since) base.set('since', since);
	if (minRaters) base.set('min_raters', minRaters);
	const link = (id, path, extra = {}) => {
		const q = new URLSearchParams(base);
		for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v);
		const qs = q.toString();
		$(id).href = qs ? `${path}?${qs}` : path;
	};
	link('exp-ratings', '/api/export/ratings.jsonl');
	link('exp-pairs', '/api/export/pairs.jsonl');
	link('exp-sft', '/api/export/sft.jsonl', { min_score: $('exp-min-score').value });
	link('exp-csv', '/api/export/ratings.csv');
}
$('export-form').addEventListener('input', updateExportLinks);
$('export-form').addEventListener('submit', (ev) => ev.preventDefault());

/* ---- settings ---------------------------------------------------------------------------------- */

loaders.settings = async () => {
	const cfg = await api('GET', '/api/config');
	$('cfg-rpg').value = cfg.ratings_per_group ?? 1;
	$('cfg-lease').value = cfg.lease_seconds ?? '';
};

$('config-form').addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const body = { ratings_per_group: Number($('cfg-rpg').value) };
	if ($('cfg-lease').value) body.lease_seconds = Number($('cfg-lease').value);
	try {
		const cfg = await api('PUT', '/api/config', body);
		showError('');
		$('cfg-rpg').value = cfg.ratings_per_group;
		$('cfg-lease').value = cfg.lease_seconds ?? '';
		$('config-status').textContent = 'Saved.';
	} catch (e) {
		$('config-status').textContent = '';
		showError(`Could not save the settings: ${e.message}`);
	}
});

/* ---- jobs, models, training ------------------------------------------------------------------ */

initJobs(loaders, (name, fn) => { hiders[name] = fn; });
initModels(loaders);
initAutoTrain(loaders, (name, fn) => { hiders[name] = fn; });
initDisagreements(loaders);
initDemog(loaders);
initQueue(loaders);
initQuality(loaders);
initReview(loaders);

/* ---- start ------------------------------------------------------------------------------------- */

async function main() {
	const me = await whoami();
	if (me.role !== 'admin') { location.replace('/rate'); return; }
	setupHeader(me);
	updateExportLinks();
	selectTab(location.hash.slice(1) || 'overview');
	window.addEventListener('hashchange', () => selectTab(location.hash.slice(1)));
}

main().catch((e) => showError(e.message));
