/*
 * web/js/quality.js — quality control on the admin page: the Overview's
 * "Rater quality" table (each rater's agreement with gold answers and with
 * the other raters, median seconds per task and the too-fast flag, from
 * GET /api/stats' per_rater), the gold controls under each answer group of
 * a prompt's page (PUT/DELETE /api/groups/{id}/gold), and the Settings
 * card for gold_share and too_fast_seconds.
 */
import { api, el, showError } from './api.js';
import { formatNumber } from './format.js';

const $ = (id) => document.getElementById(id);

const num = (v, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—');
const pct = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v * 100)} %` : '—');

/* The Overview's Rater quality table from a GET /api/stats answer. */
export function renderRaterQuality(st) {
	const q = st.quality || {};
	const fast = typeof q.too_fast_seconds === 'number' ? formatNumber(q.too_fast_seconds) : '—';
	$('quality-note').textContent = `${q.gold_groups ?? 0} gold group${q.gold_groups === 1 ? '' : 's'}; ` +
		`a rater is flagged too fast when their median is under ${fast} s over at least ${q.min_timed_tasks ?? 3} timed tasks.`;
	const raters = (st.per_rater || []).filter((r) => r.ratings > 0 || r.timed_tasks > 0);
	const rows = raters.map((r) => el('tr', { 'data-rater': r.id },
		el('th', { scope: 'row', text: r.name }),
		el('td', { class: 'num', 'data-figure': 'gold_answers', text: String(r.gold_answers ?? 0) }),
		el('td', { class: 'num', 'data-figure': 'gold_mae', text: num(r.gold_mae) }),
		el('td', { class: 'num', 'data-figure': 'gold_within_1', text: pct(r.gold_within_1) }),
		el('td', { class: 'num', 'data-figure': 'gold_order_agreement', text: pct(r.gold_order_agreement) }),
		el('td', { class: 'num', 'data-figure': 'consensus_mae', text: num(r.consensus_mae) }),
		el('td', { class: 'num', 'data-figure': 'median_seconds',
			text: typeof r.median_seconds === 'number' ? `${formatNumber(r.median_seconds)} s (${r.timed_tasks})` : '—' }),
		el('td', { 'data-figure': 'too_fast' }, r.too_fast ? el('span', { class: 'pill too-fast', text: 'too fast' }) : '')));
	$('rater-quality').tBodies[0].replaceChildren(...(rows.length ? rows
		: [el('tr', {}, el('td', { colspan: '8', class: 'muted', text: 'No ratings yet.' }))]));
}

/* ---- gold controls on a prompt's page ------------------------------------------------ */

/*
 * One form per answer group of prompt p: a known score 1–5 per answer, "Mark
 * gold" (or "Save gold scores") and, for a gold group, "Not gold".  reload
 * shows the prompt again after a change.
 */
export function renderGoldControls(p, reload) {
	const box = $('prompt-detail-gold');
	const groups = new Map();
	for (const r of p.responses || []) groups.set(r.group_id, [...(groups.get(r.group_id) || []), r]);
	const forms = [...groups].map(([gid, answers]) => {
		const gold = answers.every((a) => typeof a.gold_score === 'number');
		const status = el('span', { class: 'muted small', 'aria-live': 'polite' });
		const selects = answers.map((a) => {
			const id = `gold-${gid}-${a.id}`;
			const sel = el('select', { id, 'data-response': a.id, required: true },
				el('option', { value: '', text: '—' }),
				...[1, 2, 3, 4, 5].map((s) => el('option', { value: String(s), text: String(s) })));
			if (gold) sel.value = String(a.gold_score);
			const snippet = a.text.length > 60 ? a.text.slice(0, 60) + '…' : a.text;
			return el('div', { class: 'gold-answer' }, el('label', { for: id, text: `#${a.id} ${snippet}` }), sel);
		});
		const form = el('form', { class: 'gold-form', 'data-group': gid, 'data-gold': gold ? '1' : '0' },
			el('fieldset', {},
				el('legend', { text: `Group ${gid}: ${gold ? 'gold' : 'not gold'}` }),
				el('p', { class: 'muted small', text: 'Gold groups are mixed into every rater\'s queue (Settings: gold share); ' +
					'each rater\'s scores are compared with these on the Overview. Raters are not told.' }),
				...selects,
				el('div', { class: 'row' },
					el('button', { type: 'submit', class: 'primary', text: gold ? 'Save gold scores' : 'Mark gold' }),
					gold ? el('button', { type: 'button', class: 'unmark', text: 'Not gold', 'aria-label': `Group ${gid} is not gold` }) : '',
					status)));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const scores = selects.map((d) => d.querySelector('select'))
				.map((s) => ({ response_id: Number(s.dataset.response), score: Number(s.value) }));
			if (scores.some((s) => !s.score)) { status.textContent = 'Give every answer a score.'; return; }
			try {
				await api('PUT', `/api/groups/${gid}/gold`, { scores });
				showError('');
				await reload();
			} catch (e) { showError(`Could not mark group ${gid} gold: ${e.message}`); }
		});
		const unmark = form.querySelector('.unmark');
		if (unmark) unmark.addEventListener('click', async () => {
			try {
				await api('DELETE', `/api/groups/${gid}/gold`);
				showError('');
				await reload();
			} catch (e) { showError(`Could not unmark group ${gid}: ${e.message}`); }
		});
		return form;
	});
	box.replaceChildren(...forms);
}

/* ---- settings ------------------------------------------------------------------------- */

async function loadSettings() {
	const cfg = await api('GET', '/api/config');
	$('cfg-gold-share').value = cfg.gold_share ?? '';
	$('cfg-too-fast').value = cfg.too_fast_seconds ?? '';
}

export function initQuality(loaders) {
	const settings = loaders.settings;
	loaders.settings = async (arg) => { await settings(arg); await loadSettings(); };
	$('quality-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const body = {};
		if ($('cfg-gold-share').value !== '') body.gold_share = Number($('cfg-gold-share').value);
		if ($('cfg-too-fast').value !== '') body.too_fast_seconds = Number($('cfg-too-fast').value);
		try {
			const cfg = await api('PUT', '/api/config', body);
			showError('');
			$('cfg-gold-share').value = cfg.gold_share;
			$('cfg-too-fast').value = cfg.too_fast_seconds;
			$('quality-status').textContent = 'Saved.';
		} catch (e) {
			$('quality-status').textContent = '';
			showError(`Could not save the quality settings: ${e.message}`);
		}
	});
}
