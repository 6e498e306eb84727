/*
 * web/js/pair.js — the pair task on the rate page: two answers of the group
 * side by side (the task's "pair", A first), a verdict — A better, B better,
 * tie, both bad — and for A or B how much better (1 slightly, 2 clearly,
 * 3 much), posted as {"pair": {"a", "b", "verdict", "strength"}}
 * (POST /api/ratings).
 *
 * Keyboard: a / b / t / x choose the verdict, 1–3 the strength, ←/→ (k/j)
 * move between the answers, Enter submits; the verdict and strength are
 * native radio groups, so Tab and arrows inside them work as usual.  Pointer:
 * click a choice.
 *
 * The controller (shared with rank.js, used by rate.js): node; snapshot() /
 * apply(snap) — what is entered, for the draft and undo; hasInput(); body() —
 * the POST fields, or {error}; onKey(ev) — true when it handled the key;
 * status(); focus(); instructions and keys — the page's texts for the kind.
 */
import { el } from './api.js';

export const PAIR_KEYS = 'a A better · b B better · t tie · x both bad · 1–3 how much better · ←→ (k j) move · Enter submit · s skip · p previous · u undo';

const VERDICTS = [['a', 'A is better', 'a'], ['b', 'B is better', 'b'], ['tie', 'Tie', 't'], ['both_bad', 'Both bad', 'x']];
const STRENGTHS = [[1, 'Slightly'], [2, 'Clearly'], [3, 'Much better']];

let uid = 0;

export function pairTask({ task, onChange }) {
	const n = ++uid;
	const ids = Array.isArray(task.pair) && task.pair.length === 2 ? task.pair : task.responses.slice(0, 2).map((r) => r.id);
	const text = new Map(task.responses.map((r) => [r.id, r.text]));
	let verdict = null, strength = null;

	const cards = ids.map((id, i) => {
		const letter = 'AB'[i];
		const headId = `pair-${n}-${letter}`;
		return el('div', {
			class: 'answer card pair-answer', tabindex: '0', role: 'group', 'aria-labelledby': headId,
			'data-response-id': id, 'data-index': i, 'aria-describedby': 'keys',
		},
			el('div', { class: 'answer-head' }, el('h3', { id: headId, text: `Answer ${letter}` })),
			el('div', { class: 'answer-text', text: text.get(id) ?? '' }));
	});

	const radios = (name, choices, onPick) => choices.map(([value, label, key]) => {
		const input = el('input', { type: 'radio', name, value: String(value) });
		input.addEventListener('change', () => { if (input.checked) onPick(value); });
		return { value, input, label: el('label', { class: 'choice' }, input, ' ' + label, key ? el('kbd', { text: key }) : null) };
	});
	const vRadios = radios(`verdict-${n}`, VERDICTS, (v) => { setVerdict(v); });
	const sRadios = radios(`strength-${n}`, STRENGTHS.map(([v, l]) => [v, l, String(v)]), (v) => { setStrength(v); });
	const strengthSet = el('fieldset', { class: 'pair-strength' },
		el('legend', { text: 'How much better?' }), ...sRadios.map((r) => r.label));
	const node = el('div', { class: 'pair' },
		el('div', { class: 'pair-answers' }, ...cards),
		el('div', { class: 'pair-choice card' },
			el('fieldset', { class: 'pair-verdict' }, el('legend', { text: 'Which answer is better?' }), ...vRadios.map((r) => r.label)),
			strengthSet));

	function draw() {
		for (const r of vRadios) r.input.checked = r.value === verdict;
		const prefers = verdict === 'a' || verdict === 'b';
		strengthSet.disabled = !prefers;
		for (const r of sRadios) r.input.checked = prefers && r.value === strength;
		cards.forEach((c, i) => {
			c.classList.toggle('chosen', verdict === 'ab'[i]);
			c.classList.toggle('rejected', verdict === 'ab'[1 - i] || verdict === 'both_bad');
		});
	}

	function setVerdict(v) {
		verdict = v;
		if (v !== 'a' && v !== 'b') strength = null;
		draw();
		onChange();
	}

	function setStrength(v) {
		if (verdict !== 'a' && verdict !== 'b') return false;
		strength = v;
		draw();
		onChange();
		return true;
	}

	draw();

	return {
		node,
		kind: 'pair',
		instructions: 'Compare the two answers: which is more helpful, honest and harmless? Say how much better, or call it a tie, or say both are bad.',
		keys: PAIR_KEYS,
		snapshot: () => ({ kind: 'pair', verdict, strength }),
		apply(snap) {
			if (!snap || snap.kind !== 'pair') return;
			verdict = VERDICTS.some(([v]) => v === snap.verdict) ? snap.verdict : null;
			strength = (verdict === 'a' || verdict === 'b') && [1, 2, 3].includes(snap.strength) ? snap.strength : null;
			draw();
		},
		hasInput: () => verdict !== null,
		body() {
			if (!verdict) return { error: 'Choose a verdict first: A better (a), B better (b), tie (t) or both bad (x).' };
			if ((verdict === 'a' || verdict === 'b') && !strength)
				return { error: 'Say how much better: 1 slightly, 2 clearly, 3 much better.' };
			const pair = { a: ids[0], b: ids[1], verdict };
			if (strength && (verdict === 'a' || verdict === 'b')) pair.strength = strength;
			return { pair };
		},
		status() {
			if (!verdict) return 'No verdict yet';
			const v = VERDICTS.find(([x]) => x === verdict)[1];
			return strength ? `${v} · ${STRENGTHS[strength - 1][1].toLowerCase()}` : v;
		},
		focus() { cards[0].focus({ preventScroll: true }); },
		onKey(ev) {
			const t = ev.target;
			if (t instanceof HTMLTextAreaElement || (t instanceof HTMLInputElement && t.type !== 'radio' && t.type !== 'checkbox'))
				return false;
			const k = ev.key;
			const pick = VERDICTS.find(([, , key]) => key === k);
			if (pick) { setVerdict(pick[0]); return true; }
			if (/^[1-3]$/.test(k)) { setStrength(Number(k)); return true; }
			if (t instanceof HTMLInputElement) return false;   /* arrows in a radio group are its own */
			const at = cards.indexOf(t.closest ? t.closest('.pair-answer') : null);
			if (k === 'ArrowRight' || k === 'ArrowDown' || k === 'j') { cards[(at + 1) % 2].focus(); return true; }
			if (k === 'ArrowLeft' || k === 'ArrowUp' || k === 'k') { cards[at <= 0 ? 1 : 0].focus(); return true; }
			return false;
		},
	};
}
