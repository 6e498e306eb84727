/*
 * web/js/rank.js — the rank task on the rate page: the group's answers as a
 * list, best first, that the rater reorders (ties allowed), posted as
 * {"ranking": [id | [id, ...], ...]} (POST /api/ratings).
 *
 * Keyboard: ↑/↓ (k/j) move between answers; Shift+↑/↓ (or [ and ]) move the
 * focused answer up or down; a digit 1–9 moves it to that position; t ties it with
 * the answer above (again: untie).  Pointer: drag an answer by its handle
 * (pointer events, so touch works too); the Up / Down buttons and the "tied
 * with the one above" box do the same without dragging.
 *
 * rate.js uses the controller rankTask() returns as it uses pair.js's (see
 * there): node, snapshot / apply, hasInput, body, onKey, status, focus.
 */
import { el } from './api.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const RANK_KEYS = '↑↓ (k j) move between answers · Shift+↑↓ ([ ]) move the answer · 1–9 move it to that position · t tie with the one above · Enter submit · s skip · p previous · u undo';

export function rankTask({ task, onChange }) {
	const byId = new Map(task.responses.map((r, i) => [r.id, { response: r, letter: LETTERS[i] || String(i + 1) }]));
	let order = task.responses.map((r) => r.id);    /* best first */
	let tied = new Set();                           /* ids tied with the answer above */
	let touched = false;
	const items = new Map();                        /* id -> { node, place, tie, up, down } */
	const list = el('ol', { class: 'rank-list', 'aria-label': 'Ranking, best first' });
	const live = el('p', { class: 'sr-only', 'aria-live': 'polite' });
	const node = el('div', { class: 'rank' }, list, live);

	for (const [id, { response, letter }] of byId) {
		const headId = `rank-${id}-title`;
		const place = el('span', { class: 'badge rank-place' });
		const tie = el('input', { type: 'checkbox', 'data-tie': id });
		const up = el('button', { type: 'button', class: 'small', 'data-up': id, 'aria-label': `Move answer ${letter} up`, text: 'Up' });
		const down = el('button', { type: 'button', class: 'small', 'data-down': id, 'aria-label': `Move answer ${letter} down`, text: 'Down' });
		const handle = el('span', { class: 'drag-handle', 'aria-hidden': 'true', title: 'Drag to reorder', text: '⠿' });
		const li = el('div', {
			class: 'answer card rank-item', tabindex: '0', role: 'group', 'aria-labelledby': headId,
			'data-response-id': id, 'aria-describedby': 'keys',
		},
			el('div', { class: 'answer-head' }, handle, el('h3', { id: headId, text: `Answer ${letter}` }), place),
			el('div', { class: 'answer-text', text: response.text }),
			el('div', { class: 'rank-controls' },
				up, down,
				el('label', { class: 'check' }, tie, ' Tied with the one above')));
		up.addEventListener('click', () => move(id, -1));
		down.addEventListener('click', () => move(id, 1));
		tie.addEventListener('change', () => setTie(id, tie.checked));
		handle.addEventListener('pointerdown', (ev) => dragStart(ev, id));
		/* the list item holds the card: a role on the li itself would hide it from the list */
		items.set(id, { node: li, wrap: el('li', {}, li), place, tie, up, down });
	}

	/* Tiers: lists of ids, best first. */
	function tiers() {
		const out = [];
		order.forEach((id, i) => {
			if (i > 0 && tied.has(id)) out[out.length - 1].push(id);
			else out.push([id]);
		});
		return out;
	}

	function draw() {
		list.replaceChildren(...order.map((id) => items.get(id).wrap));
		let place = 0;
		order.forEach((id, i) => {
			const it = items.get(id);
			const tiedUp = i > 0 && tied.has(id);
			if (!tiedUp) place++;
			it.place.textContent = tiedUp ? `place ${place} (tie)` : `place ${place}`;
			it.tie.checked = tiedUp;
			it.tie.disabled = i === 0;
			it.up.disabled = i === 0;
			it.down.disabled = i === order.length - 1;
			it.node.dataset.index = String(i);
			it.node.classList.toggle('tied', tiedUp);
		});
	}

	function changed(say) {
		touched = true;
		draw();
		if (say) live.textContent = say;
		onChange();
	}

	function letterOf(id) { return byId.get(id).letter; }

	function moveTo(id, to, keepFocus = true) {
		const from = order.indexOf(id);
		to = Math.max(0, Math.min(order.length - 1, to));
		if (from < 0) return;
		order.splice(from, 1);
		order.splice(to, 0, id);
		if (to === 0) tied.delete(id);
		changed(`Answer ${letterOf(id)} at position ${to + 1} of ${order.length}`);
		if (keepFocus) items.get(id).node.focus();
	}

	function move(id, by) { moveTo(id, order.indexOf(id) + by); }

	function setTie(id, on) {
		if (order.indexOf(id) <= 0) on = false;
		if (on) tied.add(id); else tied.delete(id);
		changed(on ? `Answer ${letterOf(id)} tied with the one above` : `Answer ${letterOf(id)} no longer tied`);
	}

	/* ---- dragging (pointer events: mouse, pen, touch) ---- */
	let drag = null;
	function dragStart(ev, id) {
		if (ev.button !== 0) return;
		ev.preventDefault();
		const li = items.get(id).node;
		li.classList.add('dragging');
		drag = { id };
		const moveH = (e) => {
			const to = dropIndex(e.clientY);
			for (const it of items.values()) it.node.classList.remove('drop-before', 'drop-after');
			const target = order[Math.min(to, order.length - 1)];
			if (target !== undefined && target !== id) items.get(target).node.classList.add(to >= order.indexOf(id) ? 'drop-after' : 'drop-before');
		};
		const upH = (e) => {
			document.removeEventListener('pointermove', moveH);
			document.removeEventListener('pointerup', upH);
			document.removeEventListener('pointercancel', upH);
			for (const it of items.values()) it.node.classList.remove('drop-before', 'drop-after', 'dragging');
			if (e.type === 'pointerup') moveTo(id, dropIndex(e.clientY));
			drag = null;
		};
		document.addEventListener('pointermove', moveH);
		document.addEventListener('pointerup', upH);
		document.addEventListener('pointercancel', upH);
	}

	/* The index the dragged answer lands at for a pointer at y: among the
	 * other answers, the number whose middle is above y. */
	function dropIndex(y) {
		let n = 0;
		for (const id of order) {
			if (drag && id === drag.id) continue;
			const r = items.get(id).node.getBoundingClientRect();
			if (y > r.top + r.height / 2) n++;
		}
		return n;
	}

	function focusedId() {
		const li = document.activeElement && document.activeElement.closest && document.activeElement.closest('.rank-item');
		return li ? Number(li.dataset.responseId) : null;
	}

	draw();

	return {
		node,
		kind: 'rank',
		instructions: 'Order the answers from best (top) to worst: helpful, honest and harmless. Answers that are equally good can be tied. Drag an answer by its handle, or use the keys below.',
		keys: RANK_KEYS,
		snapshot: () => ({ kind: 'rank', order: [...order], tied: [...tied], touched }),
		apply(snap) {
			if (!snap || snap.kind !== 'rank' || !Array.isArray(snap.order)) return;
			const known = snap.order.filter((id) => byId.has(id));
			if (known.length !== order.length) return;
			order = known;
			tied = new Set((snap.tied || []).filter((id) => byId.has(id)));
			touched = !!snap.touched;
			draw();
		},
		hasInput: () => touched,
		body: () => ({ ranking: tiers() }),
		status() {
			const t = tiers();
			return `${t.length} ${t.length === 1 ? 'place' : 'places'} for ${order.length} answers` + (touched ? '' : ' · in the order shown');
		},
		focus() { items.get(order[0])?.node.focus({ preventScroll: true }); },
		/* The page's keydown; true when handled here. */
		onKey(ev) {
			const t = ev.target;
			if (t instanceof HTMLTextAreaElement || (t instanceof HTMLInputElement && t.type !== 'checkbox')) return false;
			const id = focusedId();
			const at = id === null ? -1 : order.indexOf(id);
			const focusAt = (i) => items.get(order[(i + order.length) % order.length]).node.focus();
			const k = ev.key;
			if (ev.shiftKey && (k === 'ArrowUp' || k === 'ArrowDown')) {
				if (id !== null) move(id, k === 'ArrowUp' ? -1 : 1);
				return true;
			}
			if (k === '[' || k === ']') {
				if (id !== null) move(id, k === '[' ? -1 : 1);
				return true;
			}
			if (ev.shiftKey) return false;
			if (k === 'ArrowUp' || k === 'ArrowLeft' || k === 'k') { focusAt(at < 0 ? 0 : at - 1); return true; }
			if (k === 'ArrowDown' || k === 'ArrowRight' || k === 'j') { focusAt(at + 1); return true; }
			if (/^[1-9]$/.test(k) && id !== null) { moveTo(id, Number(k) - 1); return true; }
			if (k === 't' && id !== null) { setTie(id, !tied.has(id)); items.get(id).node.focus(); return true; }
			return false;
		},
	};
}
