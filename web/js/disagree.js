/*
 * web/js/disagree.js — the admin page's Disagreements panel: the pairs of
 * answers of one group that the raters' mean scores and the newest reward
 * model's scores order oppositely, largest disagreement first
 * (GET /api/disagreements), each prompt linked to its page in the Prompts
 * panel (#prompts/{id}), with the split filter; an empty state that says why
 * the table is empty.
 */
import { api, el, showError } from './api.js';
import { formatNumber } from './format.js';

const $ = (id) => document.getElementById(id);
const LIMIT = 100;

const short = (s, n) => (s.length > n ? s.slice(0, n) + '…' : s);

/* One answer's cell: its text, then the human mean with its ratings and the rm score. */
function answerCell(x, side) {
	return el('td', { 'data-side': side, 'data-response': x.id },
		el('div', { class: 'answer-text', text: short(x.text, 300), title: x.text.length > 300 ? x.text : '' }),
		el('div', { class: 'muted small' },
			`#${x.id} · human `, el('strong', { 'data-figure': 'human', text: formatNumber(x.mean_score) }),
			` (${x.ratings} rating${x.ratings === 1 ? '' : 's'}) · reward model `,
			el('strong', { 'data-figure': 'rm', text: formatNumber(x.rm_score) })));
}

function row(it) {
	return el('tr', { 'data-prompt': it.prompt_id, 'data-a': it.a.id, 'data-b': it.b.id },
		el('td', {}, el('a', { href: `#prompts/${it.prompt_id}`, text: short(it.prompt, 160) }),
			el('div', { class: 'muted small', text: `prompt #${it.prompt_id} · group ${it.group_id}` })),
		answerCell(it.a, 'a'), answerCell(it.b, 'b'),
		el('td', { class: 'num', 'data-figure': 'size', text: formatNumber(it.size) }));
}

/* Why the table is empty, in a sentence. */
function emptyText(res) {
	if (res.reward_model_id === null)
		return 'No reward-model scores yet: run a reward job; its score job fills these.';
	if (!res.pairs_compared)
		return `No two answers of one group have both a human mean score and a score from reward model #${res.reward_model_id}` +
			' in this split yet: rate more answers, or run a score job.';
	return `Reward model #${res.reward_model_id} orders all ${res.pairs_compared} pairs compared as the raters do.`;
}

export async function load() {
	const q = new URLSearchParams({ limit: String(LIMIT) });
	const split = $('dis-split').value;
	if (split) q.set('split', split);
	const table = $('disagreements');
	delete table.dataset.split;   /* set again once this split's rows are shown */
	const res = await api('GET', `/api/disagreements?${q}`);
	const items = res.items || [];
	if (!items.length) {
		$('dis-summary').textContent = '';
		table.tBodies[0].replaceChildren(el('tr', { class: 'empty-row' },
			el('td', { colspan: '4', class: 'muted', id: 'dis-empty', text: emptyText(res) })));
	} else {
		$('dis-summary').textContent = `Reward model #${res.reward_model_id}: ${res.disagreements} of ${res.pairs_compared} pairs ` +
			'compared disagree with the raters' + (items.length < res.disagreements ? `; the largest ${items.length} are shown.` : '.');
		table.tBodies[0].replaceChildren(...items.map(row));
	}
	table.dataset.split = split || 'all';
}

export function initDisagreements(loaders) {
	loaders.disagreements = load;
	$('dis-split').addEventListener('change', () => load().catch((e) => showError(e.message)));
	$('dis-refresh').addEventListener('click', () => load().catch((e) => showError(e.message)));
}
