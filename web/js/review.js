/*
 * web/js/review.js — the admin page's Review panel: the answers raters
 * flagged and the comments they wrote (GET /api/review), newest first, with
 * filters (rater, split, prompt tag, flag, dates) and "Older" paging; each
 * prompt links to its page in the Prompts panel (#prompts/{id}).
 */
import { api, el, showError } from './api.js';
import { formatTime } from './format.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const short = (s, n) => (s.length > n ? s.slice(0, n) + '…' : s);

let olderThan = null;
let loadSeq = 0;   /* a filter change while a page loads: only the newest answer is shown */

/* The filters as query parameters; until is the day after the chosen date (a whole day counts). */
function query() {
	const q = new URLSearchParams({ limit: String(PAGE) });
	for (const [id, name] of [['rev-rater', 'rater'], ['rev-split', 'split'], ['rev-tag', 'tag'], ['rev-flag', 'flag'], ['rev-since', 'since']]) {
		const v = $(id).value.trim();
		if (v) q.set(name, v);
	}
	const until = $('rev-until').value;
	if (until) {
		const d = new Date(until + 'T00:00:00Z');
		d.setUTCDate(d.getUTCDate() + 1);
		q.set('until', d.toISOString().slice(0, 10));
	}
	return q;
}

function row(it) {
	return el('tr', { 'data-rating': it.rating_id, 'data-prompt': it.prompt_id },
		el('td', { text: formatTime(it.created_at) }),
		el('td', { text: it.rater }),
		el('td', {}, el('a', { href: `#prompts/${it.prompt_id}`, text: short(it.prompt, 120) }),
			el('div', { class: 'muted small', text: `prompt #${it.prompt_id} · ${it.split} · group ${it.group_id}` })),
		el('td', {}, el('div', { class: 'answer-text', text: short(it.response, 240) }),
			el('div', { class: 'muted small', text: `answer #${it.response_id}` })),
		el('td', { class: 'num', text: String(it.score) }),
		el('td', { 'data-figure': 'flags' }, ...(it.flags || []).map((f) => el('span', { class: 'pill flag', text: f }))),
		el('td', { 'data-figure': 'comment', text: it.comment || '' }));
}

/* Keeps the chosen option of a select whose options are rebuilt. */
function fillSelect(sel, values) {
	const keep = sel.value;
	sel.replaceChildren(el('option', { value: '', text: 'all' }), ...values.map(([v, t]) => el('option', { value: String(v), text: t ?? String(v) })));
	if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

/* Loads the first page (more = false) or the next older one. */
async function load(more = false) {
	const q = query();
	if (more && olderThan) q.set('before', String(olderThan));
	const seq = ++loadSeq;
	const res = await api('GET', `/api/review?${q}`);
	if (seq !== loadSeq) return;
	fillSelect($('rev-flag'), (res.flag_kinds || []).map((f) => [f]));
	const body = $('review').tBodies[0];
	const rows = (res.items || []).map(row);
	if (more) body.append(...rows);
	else body.replaceChildren(...(rows.length ? rows : [el('tr', { class: 'empty-row' },
		el('td', { colspan: '7', class: 'muted', id: 'review-empty', text: 'No flagged or commented answers match these filters.' }))]));
	olderThan = res.next_before ?? null;
	$('rev-older').disabled = olderThan === null;
	$('review').dataset.query = q.toString();
}

async function loadRaters() {
	const { raters } = await api('GET', '/api/raters');
	fillSelect($('rev-rater'), raters.map((r) => [r.id, r.name]));
}

export function initReview(loaders) {
	loaders.review = async () => { await loadRaters(); await load(false); };
	const reload = () => load(false).catch((e) => showError(e.message));
	$('review-form').addEventListener('change', reload);
	$('review-form').addEventListener('submit', (ev) => { ev.preventDefault(); reload(); });
	$('rev-older').addEventListener('click', () => load(true).catch((e) => showError(e.message)));
}
