/*
 * web/js/score.js — the 1–5 score control: five buttons in a radio group with a
 * clear selected state.  Used for the main score and for the optional helpful /
 * honest / harmless scores.
 */
import { el } from './api.js';

export const SCORE_WORDS = ['', 'poor', 'weak', 'fair', 'good', 'excellent'];

/*
 * Returns { node, get(), set(v) }.  label names the group for screen readers;
 * onChange(v) is called after a click (v is 1..5, or null when the selected
 * button is clicked again and clearable is true).  The buttons are not tab
 * stops (tabindex -1): keyboard users score with digits on the focused answer.
 */
export function scoreControl({ label, onChange, small = false, clearable = false }) {
	let value = null;
	const buttons = [];
	const group = el('div', { class: 'score' + (small ? ' small' : ''), role: 'radiogroup', 'aria-label': label });
	for (let v = 1; v <= 5; v++) {
		const b = el('button', {
			type: 'button', role: 'radio', 'aria-checked': 'false', tabindex: '-1',
			'data-score': v, title: `${v} — ${SCORE_WORDS[v]}`, 'aria-label': `${v}, ${SCORE_WORDS[v]}`,
			text: String(v),
		});
		b.addEventListener('click', () => {
			set(clearable && value === v ? null : v);
			if (onChange) onChange(value);
		});
		buttons.push(b);
		group.append(b);
	}
	function set(v) {
		value = v;
		buttons.forEach((b, i) => {
			const on = value === i + 1;
			b.setAttribute('aria-checked', on ? 'true' : 'false');
			b.classList.toggle('selected', on);
		});
	}
	return { node: group, get: () => value, set };
}
