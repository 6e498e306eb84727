/*
 * web/js/demo_write.js — "write a better answer" on the rate page: the w key
 * or the button opens a text area under the answers; Ctrl+Enter (or the Save
 * button) sends it as the rater's demonstration for the task's prompt (POST
 * /api/demonstrations with the group shown), Escape (or Cancel) closes it.
 * The rater's text is kept per group while the page is open, so leaving a
 * task and coming back (undo, previous) does not lose it.  Saving does not
 * rate: the task stays on screen to be scored.
 */
import { api, el, showError } from './api.js';

const MAX_BYTES = 20000;   /* the server's limit (server/http/api_demonstrations.c) */
let ui = null;             /* { box, area, count, save, group, opener } */
const drafts = new Map();  /* group id → text not sent yet */
let getTask = () => null;
let notify = () => {};

function bytes(s) { return new TextEncoder().encode(s).length; }

function updateCount() {
	const n = bytes(ui.area.value);
	ui.count.textContent = n > MAX_BYTES ? `${n - MAX_BYTES} bytes too long` : '';
	ui.count.classList.toggle('error', n > MAX_BYTES);
}

function build(slot) {
	const area = el('textarea', {
		id: 'demo-text', rows: '6', 'aria-describedby': 'demo-help demo-count',
		placeholder: 'The answer you would have liked to read',
	});
	const count = el('span', { id: 'demo-count', class: 'small', 'aria-live': 'polite' });
	const save = el('button', { id: 'demo-save', type: 'button', class: 'primary', 'aria-keyshortcuts': 'Control+Enter' },
		'Save answer ', el('kbd', { text: 'Ctrl+Enter' }));
	const cancel = el('button', { id: 'demo-cancel', type: 'button', 'aria-keyshortcuts': 'Escape' },
		'Cancel ', el('kbd', { text: 'Esc' }));
	const box = el('section', { id: 'demo-write', class: 'card demo-write', 'aria-labelledby': 'demo-title', hidden: true },
		el('h2', { id: 'demo-title', class: 'eyebrow', text: 'Write a better answer' }),
		el('p', { id: 'demo-help', class: 'muted small', text: 'Write the answer this prompt deserves. It is saved as your example of a good answer and used to teach the model; your scores are sent separately.' }),
		el('label', { for: 'demo-text', class: 'sr-only', text: 'Your answer' }),
		area,
		el('div', { class: 'demo-actions' }, count, cancel, save));
	area.addEventListener('input', () => {
		const t = getTask();
		if (t) drafts.set(t.group_id, area.value);
		updateCount();
	});
	area.addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send(); }
		else if (ev.key === 'Escape') { ev.preventDefault(); close(); }
	});
	save.addEventListener('click', send);
	cancel.addEventListener('click', close);
	slot.replaceChildren(box);
	ui = { box, area, count, save, group: null, opener: null };
}

/* Opens the writer for the task on screen (w / the button). */
export function openDemoWriter() {
	const t = getTask();
	if (!t || !ui) return;
	ui.group = t.group_id;
	ui.area.value = drafts.get(t.group_id) || '';
	updateCount();
	ui.box.hidden = false;
	ui.opener = document.getElementById('write');
	document.getElementById('write')?.setAttribute('aria-expanded', 'true');
	ui.area.focus();
	ui.box.scrollIntoView({ block: 'nearest' });
}

function close() {
	if (!ui || ui.box.hidden) return;
	ui.box.hidden = true;
	document.getElementById('write')?.setAttribute('aria-expanded', 'false');
	ui.opener?.focus();
}

async function send() {
	const text = ui.area.value;
	if (!text.trim()) {
		showError('Write an answer first: the box is empty.');
		ui.area.focus();
		return;
	}
	if (bytes(text) > MAX_BYTES) {
		showError(`The answer is too long: at most ${MAX_BYTES} bytes.`);
		ui.area.focus();
		return;
	}
	const group = ui.group;
	ui.save.disabled = true;
	try {
		await api('POST', '/api/demonstrations', { group_id: group, text });
		drafts.delete(group);
		showError('');
		close();
		notify('Your answer was saved. Thank you!');
	} catch (e) {
		if (e.status !== 401) showError(`Could not save your answer: ${e.message}`);
	} finally {
		ui.save.disabled = false;
	}
}

/*
 * Called when another task is shown: the writer closes (its text stays in
 * drafts for when that group comes back).
 */
export function demoTaskShown(task) {
	if (ui && !ui.box.hidden && (!task || task.group_id !== ui.group)) {
		ui.box.hidden = true;
		document.getElementById('write')?.setAttribute('aria-expanded', 'false');
	}
}

/*
 * Sets the writer up in #demo-slot; opts.task() gives the task on screen,
 * opts.notice(text) shows a status line.
 */
export function setupDemoWriter(opts) {
	const slot = document.getElementById('demo-slot');
	if (!slot) return;
	getTask = opts.task;
	notify = opts.notice;
	build(slot);
	const b = document.getElementById('write');
	if (b) {
		b.setAttribute('aria-controls', 'demo-write');
		b.setAttribute('aria-expanded', 'false');
		b.addEventListener('click', () => (ui.box.hidden ? openDemoWriter() : close()));
	}
}
