/*
 * web/js/admin_demog.js — two admin tabs: Guidelines (edit the rating
 * guidelines with a live preview rendered as raters see it, by
 * web/js/markdown.js; saving adds a version, PUT /api/guidelines; the
 * versions listed) and Demonstrations (the answers raters wrote with "write
 * a better answer", newest first, with rater, prompt and time, GET
 * /api/demonstrations, older pages on demand).
 */
import { api, el, showError } from './api.js';
import { markdownToDom } from './markdown.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const MAX_BYTES = 100000;   /* the server's limit (server/http/api_guidelines.c) */

function formatWhen(iso) {
	const t = Date.parse(iso || '');
	return Number.isNaN(t) ? '' : new Date(t).toLocaleString();
}

/* ---- guidelines ----------------------------------------------------------------------- */

let previewTimer = null;

function preview() {
	clearTimeout(previewTimer);
	previewTimer = null;
	const text = $('gl-text').value;
	$('gl-preview').replaceChildren(markdownToDom(text, { headingLevel: 3 }));
	if (!text.trim()) $('gl-preview').replaceChildren(el('p', { class: 'muted', text: 'Nothing to show: raters see no guidelines panel.' }));
}

function buildGuidelines(panel) {
	const area = el('textarea', { id: 'gl-text', rows: '14', 'aria-describedby': 'gl-help', spellcheck: 'true' });
	area.addEventListener('input', () => { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 150); });
	area.addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save(); }
	});
	const saveBtn = el('button', { id: 'gl-save', type: 'button', class: 'primary', 'aria-keyshortcuts': 'Control+Enter', onclick: save },
		'Save as new version ', el('kbd', { text: 'Ctrl+Enter' }));
	panel.replaceChildren(el('div', { class: 'grid-2' },
		el('div', { class: 'card guidelines-editor' },
			el('h2', { text: 'Rating guidelines' }),
			el('p', { id: 'gl-help', class: 'muted small', text: 'Shown to raters in a panel on the rate page. Markdown: # headings, ' +
				'blank lines between paragraphs, - or 1. lists, **bold**, *italic*, `code`, [text](address) links to http(s) addresses. Anything else, ' +
				'HTML included, shows as plain text. Saving makes a new version; each rating records the version in force.' }),
			el('label', { for: 'gl-text', text: 'Guidelines text' }),
			area,
			el('div', { class: 'demo-actions' }, el('span', { id: 'gl-status', class: 'small', role: 'status' }), saveBtn)),
		el('div', { class: 'card' },
			el('h2', { text: 'Preview' }),
			el('div', { id: 'gl-preview', class: 'md guidelines-preview' }),
			el('h2', { text: 'Versions' }),
			el('table', { class: 'table', id: 'gl-versions' },
				el('thead', {}, el('tr', {}, el('th', { scope: 'col', class: 'num', text: 'Version' }), el('th', { scope: 'col', text: 'By' }),
					el('th', { scope: 'col', text: 'Saved' }), el('th', { scope: 'col', class: 'num', text: 'Bytes' }))),
				el('tbody')))));
}

function showVersions(res) {
	const rows = res.versions.map((v) => el('tr', { 'data-version': v.version },
		el('td', { class: 'num', text: String(v.version) + (res.guidelines && v.version === res.guidelines.version ? ' (in force)' : '') }),
		el('td', { text: v.author || '' }), el('td', { text: formatWhen(v.created_at) }), el('td', { class: 'num', text: String(v.length) })));
	$('gl-versions').tBodies[0].replaceChildren(...(rows.length ? rows :
		[el('tr', { class: 'empty-row' }, el('td', { colspan: '4', class: 'muted', text: 'No guidelines written yet.' }))]));
}

async function loadGuidelines() {
	const res = await api('GET', '/api/guidelines');
	$('gl-text').value = res.guidelines ? res.guidelines.text : '';
	$('gl-status').textContent = res.guidelines ? `Version ${res.guidelines.version} is in force.` : 'No guidelines yet.';
	preview();
	showVersions(res);
}

async function save() {
	const text = $('gl-text').value;
	if (new TextEncoder().encode(text).length > MAX_BYTES) {
		showError(`The guidelines are too long: at most ${MAX_BYTES} bytes.`);
		return;
	}
	$('gl-save').disabled = true;
	try {
		const g = await api('PUT', '/api/guidelines', { text });
		showError('');
		const res = await api('GET', '/api/guidelines');
		showVersions(res);
		$('gl-status').textContent = `Saved: version ${g.version} is in force.`;
	} catch (e) {
		if (e.status !== 401) showError(`Could not save the guidelines: ${e.message}`);
	} finally {
		$('gl-save').disabled = false;
	}
}

/* ---- demonstrations ------------------------------------------------------------------- */

let nextBefore = null;

const short = (s, n) => (s.length > n ? s.slice(0, n) + '…' : s);

function demoRow(d) {
	return el('tr', { 'data-id': d.id },
		el('td', {}, el('a', { href: `#prompts/${d.prompt_id}`, class: 'demo-prompt', text: short(d.prompt, 200) }),
			el('div', { class: 'muted small', text: `prompt #${d.prompt_id}` + (d.source_group_id ? ` · written on group ${d.source_group_id}` : '') })),
		el('td', {}, el('div', { class: 'demo-text', text: d.text })),
		el('td', { 'data-figure': 'rater', text: d.rater || `#${d.rater_id}` }),
		el('td', { text: formatWhen(d.created_at) }));
}

function buildDemos(panel) {
	panel.replaceChildren(el('div', { class: 'card' },
		el('div', { class: 'row' }, el('h2', { text: 'Demonstrations' }), el('span', { class: 'spacer' }),
			el('button', { type: 'button', id: 'demos-refresh', onclick: () => loadDemos().catch((e) => showError(e.message)) }, 'Refresh')),
		el('p', { class: 'muted small', text: 'Answers raters wrote themselves ("write a better answer" on the rate page), newest first. ' +
			'Each is an SFT example (sft.jsonl, origin "human"; the SFT job trains on them) unless someone rates it below the SFT job\'s min_score.' }),
		el('p', { id: 'demos-summary', role: 'status' }),
		el('div', { class: 'table-wrap' }, el('table', { class: 'table', id: 'demos' },
			el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Prompt' }), el('th', { scope: 'col', text: 'Answer written' }),
				el('th', { scope: 'col', text: 'Rater' }), el('th', { scope: 'col', text: 'Written' }))),
			el('tbody'))),
		el('button', { type: 'button', id: 'demos-more', hidden: true, onclick: () => more().catch((e) => showError(e.message)) }, 'Older')));
}

async function loadDemos() {
	const res = await api('GET', `/api/demonstrations?limit=${PAGE}`);
	nextBefore = res.next_before;
	const rows = res.demonstrations.map(demoRow);
	$('demos').tBodies[0].replaceChildren(...(rows.length ? rows :
		[el('tr', { class: 'empty-row' }, el('td', { colspan: '4', class: 'muted', text: 'No rater has written an answer yet.' }))]));
	$('demos-summary').textContent = rows.length ? `${rows.length}${nextBefore ? '+' : ''} shown.` : '';
	$('demos-more').hidden = !nextBefore;
}

async function more() {
	if (!nextBefore) return;
	const res = await api('GET', `/api/demonstrations?limit=${PAGE}&before=${nextBefore}`);
	nextBefore = res.next_before;
	$('demos').tBodies[0].append(...res.demonstrations.map(demoRow));
	$('demos-summary').textContent = `${$('demos').tBodies[0].rows.length}${nextBefore ? '+' : ''} shown.`;
	$('demos-more').hidden = !nextBefore;
}

/* Fills #panel-guidelines and #panel-demonstrations and registers their loaders. */
export function initDemog(loaders) {
	buildGuidelines($('panel-guidelines'));
	buildDemos($('panel-demonstrations'));
	loaders.guidelines = loadGuidelines;
	loaders.demonstrations = loadDemos;
}
