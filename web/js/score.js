/*
 * web/js/score.js — the 1–5 score control: five buttons in a radio group with a
 * clear selected state.  Used for the main score and for the optional helpful /
 * honest / harmless scores.
 */
import { el } from './api.js';

export const SCORE_WORDS = ['', 'poor', 'weak', 'fair', 'good', 'excellent'];

/*
 * Returns { node, get(), set(v) }.  label names the group for screen readers;
 * onChange(v) is called after a click or key (v is 1..5, or null when the
 * selected button is chosen again and clearable is true).
 *
 * roving = false (the main score): the buttons are not tab stops; keyboard users
 * score with digits on the focused answer (rate.js).  roving = true (the
 * optional scores): the group is one tab stop, as a radio group is — arrows move
 * and select, digits 1–5 select, Space/Enter toggles the focused button.  Key
 * events handled here do not reach the page's shortcuts.
 */
export function scoreControl({ label, onChange, small = false, clearable = false, roving = false }) {
	let value = null;
	const buttons = [];
	const group = el('div', { class: 'score' + (small ? ' small' : ''), role: 'radiogroup', 'aria-label': label });
	const choose = (v) => {
		set(clearable && value === v ? null : v);
		if (onChange) onChange(value);
	};
	for (let v = 1; v <= 5; v++) {
		const b = el('button', {
			type: 'button', role: 'radio', 'aria-checked': 'false', tabindex: '-1',
			'data-score': v, title: `${v} — ${SCORE_WORDS[v]}`, 'aria-label': `${v}, ${SCORE_WORDS[v]}`,
			text: String(v),
		});
		b.addEventListener('click', () => choose(v));
		buttons.push(b);
		group.append(b);
	}
	if (roving) {
		buttons[0].tabIndex = 0;
		group.addEventListener('keydown', (ev) => {
			if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
			const at = buttons.indexOf(document.activeElement);
			if (at < 0) return;
			let to = null;
			if (ev.key === 'ArrowRight' || ev.key === 'ArrowUp') to = Math.min(at + 1, 4);
			else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowDown') to = Math.max(at - 1, 0);
			else if (ev.key === 'Home') to = 0;
			else if (ev.key === 'End') to = 4;
			else if (/^[1-5]$/.test(ev.key)) to = Number(ev.key) - 1;
			else if (ev.key === ' ' || ev.key === 'Enter') { ev.preventDefault(); ev.stopPropagation(); choose(at + 1); return; }
			else return;
			ev.preventDefault();
			ev.stopPropagation();
			if (value !== to + 1) choose(to + 1);
			buttons[to].focus();
		});
	}
	function set(v) {
		value = v;
		buttons.forEach((b, i) => {
			const on = value === i + 1;
			b.setAttribute('aria-checked', on ? 'true' : 'false');
			b.classList.toggle('selected', on);
			if (roving) b.tabIndex = (value === null ? i === 0 : on) ? 0 : -1;
		});
	}
	return { node: group, get: () => value, set };
}
