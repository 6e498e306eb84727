/*
 * web/js/guidelines.js — the rating guidelines on the rate page: a collapsible
 * panel (a <details>, so Enter/Space on its summary and the g key open and
 * close it) above the task, showing the version in force from GET /api/me
 * rendered by web/js/markdown.js (the only markup that reaches the page).
 * Collapsed by default; a version the rater has not seen yet opens it once,
 * marked "updated" (the last version seen is kept in localStorage per rater).
 */
import { el } from './api.js';
import { markdownToDom } from './markdown.js';

let panel = null;     /* { details, summary, body, badge, version } */
let seenKey = null;

function build(slot) {
	const badge = el('span', { class: 'badge guidelines-new', text: 'updated', hidden: true });
	const summary = el('summary', { 'aria-keyshortcuts': 'g' },
		el('h2', { class: 'guidelines-title', text: 'Rating guidelines' }), ' ',
		el('span', { class: 'muted small guidelines-version' }), ' ', badge, ' ', el('kbd', { text: 'g' }));
	const body = el('div', { class: 'guidelines-body md' });
	const details = el('details', { id: 'guidelines', class: 'card guidelines' }, summary, body);
	/* shown open counts as seen; the "updated" mark stays until it is closed */
	details.addEventListener('toggle', () => { if (details.open) markSeen(); else badge.hidden = true; });
	slot.replaceChildren(details);
	panel = { details, summary, body, badge, version: 0 };
}

function markSeen() {
	try { if (seenKey) localStorage.setItem(seenKey, String(panel.version)); } catch (e) { /* storage off */ }
}

/*
 * Shows g ({"version","text",...} or null, as /api/me gives it) in
 * #guidelines-slot; hides the panel when there is no text.  Called at start
 * and whenever /api/me is read again, so a new version appears without a
 * reload.
 */
export function showGuidelines(g, me) {
	const slot = document.getElementById('guidelines-slot');
	if (!slot) return;
	if (me) seenKey = `rlhfd.guidelines.${me.id}`;
	if (!g || !String(g.text || '').trim()) {
		slot.hidden = true;
		return;
	}
	if (!panel) build(slot);
	slot.hidden = false;
	if (panel.version === g.version) return;
	panel.version = g.version;
	panel.body.replaceChildren(markdownToDom(g.text, { headingLevel: 3 }));
	panel.summary.querySelector('.guidelines-version').textContent = `version ${g.version}`;
	let seen = 0;
	try { seen = Number(localStorage.getItem(seenKey) || 0); } catch (e) { /* storage off */ }
	if (seen < g.version) {
		panel.badge.hidden = seen === 0;   /* first visit: open, nothing to call new */
		panel.details.open = true;
	}
}

/* The g key: opens or closes the panel (and moves focus to its summary). */
export function toggleGuidelines() {
	if (!panel || document.getElementById('guidelines-slot').hidden) return false;
	panel.details.open = !panel.details.open;
	panel.summary.focus();
	return true;
}
