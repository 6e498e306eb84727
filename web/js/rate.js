/*
 * web/js/rate.js — the rating page.  Shows one task (a prompt and its K answers,
 * in the order the server shuffled them for this rater), collects a 1–5 score per
 * answer (click, or digits on the focused answer), optional helpful / honest /
 * harmless scores, a comment and flags, and posts them all at once.  While the
 * rater works, the next task is fetched in the background so the page turns at once.
 */
import { api, el, showError, whoami, setupHeader, plural } from './api.js';
import { scoreControl } from './score.js';

const $ = (id) => document.getElementById(id);
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LEASE_MARGIN_MS = 30 * 1000;

let current = null;     /* { task, cards: [{ node, response, score, extra: {helpful,honest,harmless}, flags, comment }] } */
let preloaded = null;   /* Promise of the next /api/tasks/next answer, or null */
let busy = false;

function setProgress(p) {
	if (!p) return;
	const today = p.rated_today ?? 0, left = p.remaining ?? 0;
	$('progress').textContent = `${today} rated today, ${left} left`;
}

async function refreshProgress() {
	try { setProgress(await api('GET', '/api/me')); } catch (e) { /* shown on next action */ }
}

function show(which) {
	$('loading').hidden = which !== 'loading';
	$('empty').hidden = which !== 'empty';
	$('task').hidden = which !== 'task';
}

/* ---- rendering ---------------------------------------------------------------- */

function buildCard(response, index, count) {
	const letter = LETTERS[index] || String(index + 1);
	const headId = `answer-${index}-title`;
	const card = { response, node: null, score: null, extra: {}, flags: new Set(), comment: '' };

	const badge = el('span', { class: 'badge', text: 'not scored' });
	const main = scoreControl({
		label: `Score for answer ${letter}`,
		onChange: (v) => { setScore(card, v); },
	});
	card.main = main;
	card.badge = badge;

	const extras = ['helpful', 'honest', 'harmless'].map((name) => {
		const c = scoreControl({
			label: `${name} score for answer ${letter}`, small: true, clearable: true, roving: true,
			onChange: (v) => { card.extra[name] = v; },
		});
		return el('div', { class: 'extra-row' }, el('span', { class: 'extra-name', text: name }), c.node);
	});
	const flagBoxes = [['unsafe', 'Unsafe'], ['dishonest', 'Dishonest']].map(([flag, text]) => {
		const box = el('input', { type: 'checkbox', 'data-flag': flag });
		box.addEventListener('change', () => { box.checked ? card.flags.add(flag) : card.flags.delete(flag); });
		return el('label', { class: 'check' }, box, ' ' + text);
	});
	const commentId = `answer-${index}-comment`;
	const comment = el('textarea', { id: commentId, rows: '2', maxlength: '2000', placeholder: 'Why this score? (optional)' });
	comment.addEventListener('input', () => { card.comment = comment.value; });

	const details = el('details', { class: 'more' },
		el('summary', { text: 'Details (optional)' }),
		el('div', { class: 'extras' }, ...extras),
		el('div', { class: 'flags' }, ...flagBoxes),
		el('label', { for: commentId, class: 'sr-only', text: `Comment on answer ${letter}` }),
		comment);
	card.details = details;

	card.node = el('article', {
		class: 'answer card', tabindex: '0', role: 'group', 'aria-labelledby': headId,
		'data-response-id': response.id, 'data-index': index,
		'aria-describedby': 'keys',
	},
		el('header', { class: 'answer-head' }, el('h3', { id: headId, text: `Answer ${letter}` }), badge),
		el('div', { class: 'answer-text', text: response.text }),
		el('div', { class: 'score-wrap' },
			main.node,
			el('div', { class: 'score-scale', 'aria-hidden': 'true' }, el('span', { text: 'poor' }), el('span', { text: 'excellent' }))),
		details);
	return card;
}

function render(task) {
	const cards = task.responses.map((r, i) => buildCard(r, i, task.responses.length));
	current = { task, cards };
	$('prompt').textContent = task.prompt;
	const box = $('answers');
	box.replaceChildren(...cards.map((c) => c.node));
	box.className = 'answers cols-' + Math.min(Math.max(cards.length, 1), 4);
	$('none-acceptable').checked = false;
	updateScored();
	show('task');
	window.scrollTo(0, 0);
	cards[0]?.node.focus({ preventScroll: true });
}

function setScore(card, v) {
	card.score = v;
	card.main.set(v);
	card.node.classList.toggle('scored', v !== null);
	card.badge.textContent = v ? `${v} / 5` : 'not scored';
	updateScored();
}

function updateScored() {
	if (!current) return;
	const n = current.cards.filter((c) => c.score !== null).length;
	$('scored').textContent = `${n} of ${current.cards.length} scored`;
}

/* ---- loading tasks ----------------------------------------------------------------- */

function fetchNext(exclude) {
	return api('GET', '/api/tasks/next' + (exclude ? `?exclude=${encodeURIComponent(exclude)}` : ''));
}

/*
 * Asks for the task after the current one.  The server hands a rater the lease
 * it already holds, so the current group is excluded; a server that ignores
 * `exclude` answers with the current group again, which nextTask() discards
 * (and then asks once the current task is done).
 */
function startPreload() {
	preloaded = fetchNext(current && current.task.group_id).catch(() => null);
}

/* Shows the preloaded task when it is still good, else asks the server now. */
async function nextTask() {
	let data = null;
	if (preloaded) {
		data = await preloaded;
		preloaded = null;
		const t = data && data.task;
		const stale = !t || (current && t.group_id === current.task.group_id) ||
			(t.lease_expires_at && leaseTime(t.lease_expires_at) - Date.now() < LEASE_MARGIN_MS);
		if (stale) data = null;
	}
	if (!data) {
		show('loading');
		data = await fetchNext();
	}
	if (!data || !data.task) {
		current = null;
		show('empty');
		$('recheck').focus();
		refreshProgress();
		return;
	}
	render(data.task);
	if (data.progress) setProgress(data.progress);
	refreshProgress();
	startPreload();
}

/* lease_expires_at may be ISO-8601 or unix seconds. */
function leaseTime(v) {
	if (typeof v === 'number') return v * 1000;
	const t = Date.parse(v);
	return Number.isNaN(t) ? Infinity : t;
}

/* ---- actions ------------------------------------------------------------------------- */

async function submit() {
	if (!current || busy) return;
	const missing = current.cards.filter((c) => c.score === null);
	if (missing.length) {
		showError(`Score every answer first: ${plural(missing.length, 'answer')} still without a score.`);
		missing[0].node.focus();
		return;
	}
	const none = $('none-acceptable').checked;
	const ratings = current.cards.map((c) => {
		const r = { response_id: c.response.id, score: c.score };
		for (const k of ['helpful', 'honest', 'harmless']) if (c.extra[k]) r[k] = c.extra[k];
		const comment = c.comment.trim();
		if (comment) r.comment = comment;
		const flags = [...c.flags];
		if (none) flags.push('none_acceptable');
		if (flags.length) r.flags = flags;
		return r;
	});
	busy = true;
	$('submit').disabled = true;
	try {
		await api('POST', '/api/ratings', { group_id: current.task.group_id, ratings });
		showError('');
		await nextTask();
	} catch (e) {
		showError(`Could not save the ratings: ${e.message}`);
	} finally {
		busy = false;
		$('submit').disabled = false;
	}
}

async function skip() {
	if (!current || busy) return;
	busy = true;
	try {
		await api('POST', `/api/tasks/${current.task.group_id}/skip`, {});
		showError('');
		await nextTask();
	} catch (e) {
		showError(`Could not skip: ${e.message}`);
	} finally {
		busy = false;
	}
}

/* ---- keyboard ------------------------------------------------------------------------ */

function focusedIndex() {
	const card = document.activeElement && document.activeElement.closest && document.activeElement.closest('.answer');
	return card ? Number(card.dataset.index) : -1;
}

function focusCard(i) {
	if (!current) return;
	const n = current.cards.length;
	current.cards[(i + n) % n].node.focus();
}

function onKey(ev) {
	if (ev.ctrlKey || ev.metaKey || ev.altKey || !current || $('task').hidden) return;
	const t = ev.target;
	const typing = t instanceof HTMLTextAreaElement || t instanceof HTMLInputElement || t instanceof HTMLSelectElement;
	if (typing) return;
	const i = focusedIndex();
	const onControl = t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement || t.tagName === 'SUMMARY';
	switch (ev.key) {
	case '1': case '2': case '3': case '4': case '5': {
		const idx = i >= 0 ? i : current.cards.findIndex((c) => c.score === null);
		if (idx < 0) return;
		ev.preventDefault();
		setScore(current.cards[idx], Number(ev.key));
		showError('');
		const next = idx + 1 < current.cards.length ? idx + 1 : current.cards.findIndex((c) => c.score === null);
		if (next >= 0) current.cards[next].node.focus();
		else $('submit').focus();
		return;
	}
	case 'ArrowRight': case 'ArrowDown': case 'j':
		ev.preventDefault();
		focusCard(i + 1);
		return;
	case 'ArrowLeft': case 'ArrowUp': case 'k':
		ev.preventDefault();
		focusCard(i < 0 ? -1 : i - 1);
		return;
	case 'd':
		if (i >= 0) { ev.preventDefault(); const d = current.cards[i].details; d.open = !d.open; }
		return;
	case 's':
		ev.preventDefault();
		skip();
		return;
	case 'Enter':
		if (onControl) return;   /* the button or summary handles its own Enter */
		ev.preventDefault();
		submit();
		return;
	}
}

/* ---- start ---------------------------------------------------------------------------- */

async function main() {
	const me = await whoami();
	setupHeader(me);
	setProgress(me);
	$('submit').addEventListener('click', submit);
	$('skip').addEventListener('click', skip);
	$('recheck').addEventListener('click', () => nextTask().catch((e) => showError(e.message)));
	document.addEventListener('keydown', onKey);
	await nextTask();
}

main().catch((e) => { show('none'); showError(e.message); });
