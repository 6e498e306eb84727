/*
 * web/js/rate.js — the rating page.  Shows one task (a prompt and its K answers,
 * in the order the server shuffled them for this rater), collects a 1–5 score per
 * answer (click, or digits on the focused answer), optional helpful / honest /
 * harmless scores, a comment and flags, and posts them all at once.  While the
 * rater works, the next task is fetched in the background so the page turns at once.
 *
 * Going back: after Submit or Skip a toast offers Undo (u), which re-opens
 * that group with the scores as they were — posting again replaces the
 * rater's ratings (POST /api/ratings).  Previous (p, Backspace) walks the
 * rater's recently rated groups (GET /api/ratings/mine) to edit them; n goes
 * newer and back to the new task, which waits with its scores meanwhile.
 * Skipping a task with scores entered asks first, in place.  What is entered
 * but not sent is kept in localStorage (per rater) until it is sent or
 * skipped, so a session that ends or a reload loses nothing: the page puts
 * it back after the next sign-in.
 *
 * Task kinds (the task's task_kind): "score" is the page above; "rank" and
 * "pair" hand the answers to rank.js / pair.js (current.judge), which draw
 * their own controls and say what to post; undo, the draft and the skip
 * confirmation go through the judge's snapshot, and previous shows a judged
 * group's judgement (GET /api/ratings/mine: "judgement").
 */
import { api, el, showError, whoami, setupHeader, plural } from './api.js';
import { scoreControl } from './score.js';
import { showGuidelines, toggleGuidelines } from './guidelines.js';
import { setupDemoWriter, openDemoWriter, demoTaskShown } from './demo_write.js';
import { rankTask } from './rank.js';
import { pairTask } from './pair.js';
import { renderPrompt } from './chat.js';

const $ = (id) => document.getElementById(id);
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LEASE_MARGIN_MS = 30 * 1000;
const EXTRAS = ['helpful', 'honest', 'harmless'];
const FLAGS = [['unsafe', 'Unsafe'], ['dishonest', 'Dishonest']];
const TOAST_MS = 10000;
const CONFIRM_MS = 5000;
const HISTORY_PAGE = 10;
const DRAFT_MAX_AGE_MS = 7 * 86400 * 1000;

/*
 * current: the group on screen — { task, cards, mode, ratedAt, reopened }.
 *   mode 'new': not rated yet; 'edit': rated before (undo after Submit, or
 *   previous), posting replaces the ratings.  reopened: shown by undo or
 *   previous, so after it is sent or skipped the waiting task comes back
 *   instead of the next one.
 * card: { response, node, main, badge, extras: {name: control}, boxes: {flag: input},
 *         commentBox, details, score, extra: {name: v}, flags: Set, comment }
 */
let current = null;
let preloaded = null;   /* Promise of the next /api/tasks/next answer, or null */
let busy = false;
let me = null;
let waiting = null;     /* { task, snap } the new task set aside while going back, or null (none / empty) */
let history = null;     /* { items, index, nextBefore } while walking previous groups */
let toastUndo = null;   /* the toast's undo action */
let toastTimer = null;
let skipArmed = null;   /* timer while the skip button asks to confirm */

function setProgress(p) {
	if (!p) return;
	const today = p.rated_today ?? 0, left = p.remaining ?? 0;
	$('progress').textContent = `${today} rated today, ${left} left`;
}

async function refreshProgress() {
	try {
		const m = await api('GET', '/api/me');
		setProgress(m);
		showGuidelines(m.guidelines);   /* a new version shows without a reload */
	} catch (e) { /* shown on next action */ }
}

function show(which) {
	$('loading').hidden = which !== 'loading';
	$('empty').hidden = which !== 'empty';
	$('task').hidden = which !== 'task';
	if (which !== 'task') current = null;
}

function notice(msg) {
	$('notice').textContent = msg || '';
	$('notice').hidden = !msg;
}

/* ---- scores as data: snapshots and the draft in localStorage ------------------- */

/* What is entered on the current group: { none, cards: { response id: {score, extra, flags, comment} } },
 * or for a rank / pair task the judge's snapshot. */
function snapshot() {
	if (current.judge) return current.judge.snapshot();
	const cards = {};
	for (const c of current.cards)
		cards[c.response.id] = { score: c.score, extra: { ...c.extra }, flags: [...c.flags], comment: c.comment };
	return { none: $('none-acceptable').checked, cards };
}

/* The snapshot a rated group's ratings make (GET /api/ratings/mine). */
function snapFromRatings(ratings) {
	const cards = {};
	let none = ratings.length > 0;
	for (const r of ratings) {
		const flags = (r.flags || []).filter((f) => f !== 'none_acceptable');
		if (flags.length === (r.flags || []).length) none = false;
		const extra = {};
		for (const k of EXTRAS) if (r[k]) extra[k] = r[k];
		cards[r.response_id] = { score: r.score, extra, flags, comment: r.comment || '' };
	}
	return { none, cards };
}

function hasInput() {
	if (!current) return false;
	if (current.judge) return current.judge.hasInput();
	if ($('none-acceptable').checked) return true;
	return current.cards.some((c) => c.score !== null || c.flags.size || c.comment.trim() ||
		EXTRAS.some((k) => c.extra[k]));
}

function draftKey() { return me ? `rlhfd.draft.${me.id}` : null; }

/* Keeps what is entered on a group not sent yet (after every change). */
function saveDraft() {
	const key = draftKey();
	if (!key || !current) return;
	try {
		if (!hasInput()) { localStorage.removeItem(key); return; }
		localStorage.setItem(key, JSON.stringify({
			task: current.task, mode: current.mode, ratedAt: current.ratedAt || null,
			snap: snapshot(), saved: Date.now(),
		}));
	} catch (e) { /* storage full or off: nothing to keep it in */ }
}

function clearDraft(groupId) {
	const key = draftKey();
	if (!key) return;
	try {
		const d = JSON.parse(localStorage.getItem(key) || 'null');
		if (!d || groupId === undefined || (d.task && d.task.group_id === groupId)) localStorage.removeItem(key);
	} catch (e) { localStorage.removeItem(key); }
}

function loadDraft() {
	const key = draftKey();
	if (!key) return null;
	try {
		const d = JSON.parse(localStorage.getItem(key) || 'null');
		if (d && d.task && Array.isArray(d.task.responses) && d.snap && Date.now() - d.saved < DRAFT_MAX_AGE_MS) return d;
	} catch (e) { /* unreadable: dropped below */ }
	localStorage.removeItem(key);
	return null;
}

/* ---- rendering ---------------------------------------------------------------- */

function buildCard(response, index) {
	const letter = LETTERS[index] || String(index + 1);
	const headId = `answer-${index}-title`;
	const card = { response, node: null, score: null, extra: {}, flags: new Set(), comment: '', extras: {}, boxes: {} };

	const badge = el('span', { class: 'badge', text: 'not scored' });
	const main = scoreControl({
		label: `Score for answer ${letter}`,
		onChange: (v) => { setScore(card, v); },
	});
	card.main = main;
	card.badge = badge;

	const extras = EXTRAS.map((name) => {
		const c = scoreControl({
			label: `${name} score for answer ${letter}`, small: true, clearable: true, roving: true,
			onChange: (v) => { card.extra[name] = v; saveDraft(); },
		});
		card.extras[name] = c;
		return el('div', { class: 'extra-row' }, el('span', { class: 'extra-name', text: name }), c.node);
	});
	const flagBoxes = FLAGS.map(([flag, text]) => {
		const box = el('input', { type: 'checkbox', 'data-flag': flag });
		box.addEventListener('change', () => { box.checked ? card.flags.add(flag) : card.flags.delete(flag); saveDraft(); });
		card.boxes[flag] = box;
		return el('label', { class: 'check' }, box, ' ' + text);
	});
	const commentId = `answer-${index}-comment`;
	const comment = el('textarea', { id: commentId, rows: '2', maxlength: '2000', placeholder: 'Why this score? (optional)' });
	comment.addEventListener('input', () => { card.comment = comment.value; saveDraft(); });
	card.commentBox = comment;

	const details = el('details', { class: 'more' },
		el('summary', { text: 'Details (optional)' }),
		el('div', { class: 'extras' }, ...extras),
		el('div', { class: 'flags' }, ...flagBoxes),
		el('label', { for: commentId, class: 'sr-only', text: `Comment on answer ${letter}` }),
		comment);
	card.details = details;

	card.node = el('div', {
		class: 'answer card', tabindex: '0', role: 'group', 'aria-labelledby': headId,
		'data-response-id': response.id, 'data-index': index,
		'aria-describedby': 'keys',
	},
		el('div', { class: 'answer-head' }, el('h3', { id: headId, text: `Answer ${letter}` }), badge),
		el('div', { class: 'answer-text', text: response.text }),
		el('div', { class: 'score-wrap' },
			main.node,
			el('div', { class: 'score-scale', 'aria-hidden': 'true' }, el('span', { text: 'poor' }), el('span', { text: 'excellent' }))),
		details);
	return card;
}

/* Puts snap's entries on the cards (unknown answers are ignored). */
function applySnap(snap) {
	if (!snap) return;
	if (current.judge) { current.judge.apply(snap); return; }
	$('none-acceptable').checked = !!snap.none;
	for (const c of current.cards) {
		const s = snap.cards && snap.cards[c.response.id];
		if (!s) continue;
		if (s.score) setScore(c, s.score, false);
		for (const k of EXTRAS) {
			const v = s.extra && s.extra[k] ? s.extra[k] : null;
			c.extra[k] = v;
			c.extras[k].set(v);
		}
		c.flags = new Set((s.flags || []).filter((f) => c.boxes[f]));
		for (const [f, box] of Object.entries(c.boxes)) box.checked = c.flags.has(f);
		c.comment = s.comment || '';
		c.commentBox.value = c.comment;
		if (c.flags.size || c.comment || EXTRAS.some((k) => c.extra[k])) c.details.open = true;
	}
}

function formatWhen(iso) {
	const t = Date.parse(iso || '');
	return Number.isNaN(t) ? '' : new Date(t).toLocaleString();
}

/*
 * Shows task.  opts: mode ('new' | 'edit'), snap (scores to put back),
 * ratedAt (edit), reopened (undo / previous: not the queue's next task).
 */
function render(task, opts = {}) {
	disarmSkip();
	const judge = makeJudge(task);
	const cards = judge ? [] : task.responses.map((r, i) => buildCard(r, i));
	current = { task, cards, judge, mode: opts.mode || 'new', ratedAt: opts.ratedAt || null, reopened: !!opts.reopened };
	demoTaskShown(task);
	renderPrompt($('prompt'), task.prompt, task.messages);
	const box = $('answers');
	box.replaceChildren(...(judge ? [judge.node] : cards.map((c) => c.node)));
	box.className = judge ? `answers judge-${judge.kind}` : 'answers cols-' + Math.min(Math.max(cards.length, 1), 4);
	kindTexts(judge);
	$('none-acceptable').checked = false;
	applySnap(opts.snap);
	const editing = current.mode === 'edit';
	const banner = $('editing');
	if (editing) {
		const when = formatWhen(current.ratedAt);
		banner.textContent = `You rated this group${when ? ' on ' + when : ''}. Change the scores and save: your new ratings replace the old ones.`;
	} else if (current.reopened) {
		banner.textContent = 'You skipped this group. Its scores are back; submit them or skip it again.';
	}
	if (editing && judge)
		banner.textContent = `You ${judge.kind === 'rank' ? 'ranked' : 'compared'} this group. Change it and save: your new judgement replaces the old one.`;
	banner.hidden = !editing && !current.reopened;
	$('submit').firstChild.textContent = editing ? 'Save changes ' : 'Submit ';
	$('skip').hidden = editing;
	$('back').hidden = !current.reopened;
	$('back').firstChild.textContent = waiting ? 'Back to new task ' : 'Back ';
	updateScored();
	show('task');
	window.scrollTo(0, 0);
	updateStickyPadding();
	if (judge) judge.focus();
	else cards[0]?.node.focus({ preventScroll: true });
}

/* The rank or pair controller for task, or null for a score task. */
function makeJudge(task) {
	const onChange = () => { showError(''); updateScored(); saveDraft(); };
	if (task.task_kind === 'rank') return rankTask({ task, onChange });
	if (task.task_kind === 'pair') return pairTask({ task, onChange });
	return null;
}

/* The instructions and the key hints of the task's kind (the page's own for scores). */
let scoreTexts = null;
function kindTexts(judge) {
	const ins = document.querySelector('.instructions');
	// the page's own key hints kept as nodes (no HTML sinks: tests/api/static)
	if (!scoreTexts) scoreTexts = { ins: ins.textContent, keys: [...$('keys').childNodes].map((n) => n.cloneNode(true)) };
	ins.textContent = judge ? judge.instructions : scoreTexts.ins;
	if (judge) $('keys').textContent = judge.keys;
	else $('keys').replaceChildren(...scoreTexts.keys.map((n) => n.cloneNode(true)));
	$('none-acceptable').closest('label').hidden = !!judge;
}

function setScore(card, v, save = true) {
	card.score = v;
	card.main.set(v);
	card.node.classList.toggle('scored', v !== null);
	card.badge.textContent = v ? `${v} / 5` : 'not scored';
	updateScored();
	if (save) saveDraft();
}

function updateScored() {
	if (!current) return;
	if (current.judge) { $('scored').textContent = current.judge.status(); return; }
	const n = current.cards.filter((c) => c.score !== null).length;
	$('scored').textContent = `${n} of ${current.cards.length} scored`;
}

/* On a phone the prompt and the action bar stick to the screen's edges; focus
 * moves keep the focused answer clear of both. */
function updateStickyPadding() {
	const root = document.documentElement;
	const sticky = (node) => node && getComputedStyle(node).position === 'sticky';
	const top = sticky($('prompt-card')) ? $('prompt-card').getBoundingClientRect().height : 0;
	const topbar = sticky(document.querySelector('.topbar')) ? document.querySelector('.topbar').getBoundingClientRect().height : 0;
	const bottom = sticky($('task-actions')) ? $('task-actions').getBoundingClientRect().height : 0;
	root.style.scrollPaddingTop = `${Math.ceil(top + topbar + 8)}px`;
	root.style.scrollPaddingBottom = `${Math.ceil(bottom + 8)}px`;
	root.style.setProperty('--bar-h', `${Math.ceil(bottom)}px`);
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
async function nextTask(doneGroup) {
	let data = null;
	if (preloaded) {
		data = await preloaded;
		preloaded = null;
		const t = data && data.task;
		const stale = !t || t.group_id === doneGroup || (current && t.group_id === current.task.group_id) ||
			(t.lease_expires_at && leaseTime(t.lease_expires_at) - Date.now() < LEASE_MARGIN_MS);
		if (stale) data = null;
	}
	if (!data) {
		show('loading');
		data = await fetchNext();
	}
	if (!data || !data.task) {
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

/* After a group is sent or skipped: the task set aside comes back, else the next one. */
async function goOn(doneGroup) {
	history = null;
	if (current && current.reopened && waiting) {
		const w = waiting;
		waiting = null;
		render(w.task, { snap: w.snap });
		saveDraft();
		return;
	}
	waiting = null;
	await nextTask(doneGroup);
}

/* lease_expires_at may be ISO-8601 or unix seconds. */
function leaseTime(v) {
	if (typeof v === 'number') return v * 1000;
	const t = Date.parse(v);
	return Number.isNaN(t) ? Infinity : t;
}

/* ---- the toast with Undo ---------------------------------------------------------------- */

function toast(text, undo) {
	clearTimeout(toastTimer);
	toastUndo = undo || null;
	$('toast-text').textContent = text;
	$('toast-undo').hidden = !undo;
	$('toast').hidden = false;
	toastTimer = setTimeout(hideToast, TOAST_MS);
}

function hideToast() {
	clearTimeout(toastTimer);
	toastUndo = null;
	$('toast').hidden = true;
}

function undo() {
	const act = toastUndo;
	hideToast();
	if (act && !busy) act();
}

/* Sets the new task on screen aside (with what is entered) before going back. */
function setAside() {
	if (current && !current.reopened) waiting = { task: current.task, snap: snapshot() };
}

/* ---- actions ------------------------------------------------------------------------- */

/* What a rank / pair task posts, or null after showing why it cannot yet. */
function judgeBody() {
	const b = current.judge.body();
	if (b.error) { showError(b.error); return null; }
	return b;
}

async function submit() {
	if (!current || busy) return;
	if (current.judge) {
		const body = judgeBody();
		if (body) await send(body);
		return;
	}
	const missing = current.cards.filter((c) => c.score === null);
	if (missing.length) {
		showError(`Score every answer first: ${plural(missing.length, 'answer')} still without a score.`);
		missing[0].node.focus();
		return;
	}
	const none = $('none-acceptable').checked;
	const ratings = current.cards.map((c) => {
		const r = { response_id: c.response.id, score: c.score };
		for (const k of EXTRAS) if (c.extra[k]) r[k] = c.extra[k];
		const comment = c.comment.trim();
		if (comment) r.comment = comment;
		const flags = [...c.flags];
		if (none) flags.push('none_acceptable');
		if (flags.length) r.flags = flags;
		return r;
	});
	await send({ ratings });
}

/* Posts fields (ratings, ranking or pair) for the current group and goes on. */
async function send(fields) {
	const done = { task: current.task, snap: snapshot() };
	const wasEdit = current.mode === 'edit';
	busy = true;
	$('submit').disabled = true;
	saveDraft();
	try {
		await api('POST', '/api/ratings', { group_id: done.task.group_id, ...fields });
		showError('');
		notice('');
		clearDraft(done.task.group_id);
		await goOn(done.task.group_id);
		toast(wasEdit ? 'Changes saved.' : done.task.task_kind === 'rank' ? 'Ranking saved.' :
			done.task.task_kind === 'pair' ? 'Comparison saved.' : 'Ratings saved.', () => {
			setAside();
			history = null;
			render(done.task, { mode: 'edit', snap: done.snap, ratedAt: new Date().toISOString(), reopened: true });
		});
	} catch (e) {
		if (e.status !== 401) showError(`Could not save the ratings: ${e.message}`);
	} finally {
		busy = false;
		$('submit').disabled = false;
	}
}

function disarmSkip() {
	clearTimeout(skipArmed);
	skipArmed = null;
	const b = $('skip');
	b.classList.remove('armed');
	b.firstChild.textContent = 'Skip ';
	b.removeAttribute('aria-describedby');
}

async function skip() {
	if (!current || busy || current.mode === 'edit') return;
	if (hasInput() && !skipArmed) {
		/* asks in place: a second Skip (or s) within a few seconds skips */
		const b = $('skip');
		b.classList.add('armed');
		b.firstChild.textContent = 'Skip and drop the scores? ';
		$('scored').textContent = 'Press Skip again to skip this task; your scores here are dropped.';
		skipArmed = setTimeout(() => { disarmSkip(); updateScored(); }, CONFIRM_MS);
		b.focus();
		return;
	}
	disarmSkip();
	const done = { task: current.task, snap: snapshot() };
	busy = true;
	try {
		await api('POST', `/api/tasks/${done.task.group_id}/skip`, {});
		showError('');
		notice('');
		clearDraft(done.task.group_id);
		await goOn(done.task.group_id);
		toast('Task skipped.', () => {
			setAside();
			history = null;
			render(done.task, { mode: 'new', snap: done.snap, reopened: true });
			saveDraft();
		});
	} catch (e) {
		if (e.status !== 401) showError(`Could not skip: ${e.message}`);
	} finally {
		busy = false;
	}
}

/* ---- previous: the rater's recently rated groups ------------------------------------- */

async function fetchHistory(before) {
	const q = new URLSearchParams({ limit: String(HISTORY_PAGE) });
	if (before) q.set('before', String(before));
	return api('GET', `/api/ratings/mine?${q}`);
}

/* A group judged by rank or pair, as its task and the judge's snapshot. */
function judgedItem(g) {
	const j = g.judgement;
	const task = { group_id: g.group_id, prompt_id: g.prompt_id, prompt: g.prompt, messages: g.messages, responses: g.responses, task_kind: j.kind };
	const ids = j.items.map((x) => x.response_id);
	if (j.kind === 'pair') {
		task.pair = ids;
		task.responses = ids.map((id) => g.responses.find((r) => r.id === id)).filter(Boolean);
		return { task, snap: { kind: 'pair', verdict: j.verdict, strength: j.strength } };
	}
	const tied = j.items.filter((x, i) => i > 0 && x.place === j.items[i - 1].place).map((x) => x.response_id);
	return { task, snap: { kind: 'rank', order: ids, tied, touched: true } };
}

function showHistoryItem() {
	const g = history.items[history.index];
	const { task, snap } = g.judgement ? judgedItem(g) :
		{ task: { group_id: g.group_id, prompt_id: g.prompt_id, prompt: g.prompt, messages: g.messages, responses: g.responses },
		  snap: snapFromRatings(g.ratings) };
	render(task, { mode: 'edit', snap, ratedAt: g.rated_at, reopened: true });
	$('scored').textContent = `Your rating ${history.index + 1} from the latest · ${$('scored').textContent}`;
}

/* One group older (p). */
async function previous() {
	if (busy) return;
	busy = true;
	try {
		if (!history) {
			const r = await fetchHistory(null);
			if (!r.groups.length) { notice('You have not rated anything yet.'); return; }
			setAside();
			history = { items: r.groups, index: 0, nextBefore: r.next_before };
		} else if (history.index + 1 < history.items.length) {
			history.index++;
		} else if (history.nextBefore) {
			const r = await fetchHistory(history.nextBefore);
			history.nextBefore = r.next_before;
			if (!r.groups.length) { notice('There are no older ratings.'); return; }
			history.items.push(...r.groups);
			history.index++;
		} else {
			notice('There are no older ratings.');
			return;
		}
		notice('');
		showError('');
		showHistoryItem();
	} catch (e) {
		if (e.status !== 401) showError(`Could not load your earlier ratings: ${e.message}`);
	} finally {
		busy = false;
	}
}

/* One group newer (n); past the newest, back to the task set aside. */
async function newer() {
	if (busy || !current || !current.reopened) return;
	notice('');
	if (history && history.index > 0) {
		history.index--;
		showHistoryItem();
		return;
	}
	history = null;
	if (waiting) {
		const w = waiting;
		waiting = null;
		render(w.task, { snap: w.snap });
		saveDraft();
		return;
	}
	busy = true;
	try { await nextTask(); } catch (e) { showError(e.message); } finally { busy = false; }
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
	if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
	const t = ev.target;
	/* a rank / pair task's own keys (it leaves text fields alone) */
	if (current && current.judge && !$('task').hidden && current.judge.onKey(ev)) { ev.preventDefault(); return; }
	const typing = t instanceof HTMLTextAreaElement || t instanceof HTMLInputElement || t instanceof HTMLSelectElement;
	if (typing) return;
	if (ev.key === 'u' && toastUndo) { ev.preventDefault(); undo(); return; }
	if ((ev.key === 'p' || ev.key === 'Backspace') && (current || !$('empty').hidden)) { ev.preventDefault(); previous(); return; }
	if (ev.key === 'g' && toggleGuidelines()) { ev.preventDefault(); return; }
	if (!current || $('task').hidden) return;
	/* the score keys below (digits, d, moving between cards) are not a judge's */
	if (current.judge && !['s', 'n', 'w', 'Enter'].includes(ev.key)) return;
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
	case 'w':
		ev.preventDefault();
		openDemoWriter();
		return;
	case 'n':
		ev.preventDefault();
		newer();
		return;
	case 'Enter':
		if (onControl) return;   /* the button or summary handles its own Enter */
		ev.preventDefault();
		submit();
		return;
	}
}

/* ---- start ---------------------------------------------------------------------------- */

function wirePromptToggle() {
	const b = $('prompt-toggle');
	b.addEventListener('click', () => {
		const open = b.getAttribute('aria-expanded') !== 'true';
		b.setAttribute('aria-expanded', String(open));
		b.textContent = open ? 'Collapse' : 'Show all';
		$('prompt-card').classList.toggle('collapsed', !open);
		updateStickyPadding();
	});
}

async function main() {
	me = await whoami();
	setupHeader(me);
	setProgress(me);
	showGuidelines(me.guidelines, me);
	setupDemoWriter({ task: () => current && current.task, notice });
	$('submit').addEventListener('click', submit);
	$('skip').addEventListener('click', skip);
	$('back').addEventListener('click', newer);
	for (const b of document.querySelectorAll('[data-prev]')) b.addEventListener('click', previous);
	$('toast-undo').addEventListener('click', undo);
	$('toast-close').addEventListener('click', hideToast);
	$('none-acceptable').addEventListener('change', saveDraft);
	$('recheck').addEventListener('click', () => nextTask().catch((e) => showError(e.message)));
	document.addEventListener('keydown', onKey);
	window.addEventListener('resize', updateStickyPadding);
	wirePromptToggle();
	const draft = loadDraft();
	if (draft) {
		/* scores not sent when the session ended (or the page was left) */
		render(draft.task, { mode: draft.mode === 'edit' ? 'edit' : 'new', snap: draft.snap, ratedAt: draft.ratedAt,
			reopened: draft.mode === 'edit' });
		notice('Your scores that were not sent yet are back. Check them and submit.');
		startPreload();
		return;
	}
	await nextTask();
}

main().catch((e) => { show('none'); showError(e.message); });
