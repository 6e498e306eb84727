/*
 * web/js/spotcheck.js — the reward-hacking watch on the admin page's Models
 * panel (hooked into js/models.js): for each version with spot checks (the
 * versions' "spot_check" field of GET /api/models, server/worker/spotcheck.c)
 * the reward model's mean score and people's mean score of its spot-checked
 * answers with their counts, the comparison with its parent on the paired
 * prompts, and a "hacking" badge with its reason when the reward rises while
 * people's score falls; and the sentence for a rollback the watch caused.
 */
import { el } from './api.js';
import { formatNumber } from './format.js';

const num = (v) => (typeof v === 'number' ? formatNumber(v) : '—');
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/* The spot-check block of version m's figures cell, or null when it has none. */
export function spotCheckBlock(m) {
	const s = m.spot_check;
	if (!s) return null;
	const lines = [
		el('div', { class: 'spot-line' },
			el('span', { class: 'muted', text: 'spot checks ' }),
			el('span', { 'data-spot': 'rm', text: `reward ${num(s.rm_mean)} (model #${s.rm_model_id}, ${plural(s.answers, 'answer', 'answers')})` }),
			el('span', { class: 'muted', text: ' · ' }),
			el('span', { 'data-spot': 'human', text: `people ${num(s.human_mean)} (${plural(s.rated, 'answer', 'answers')} rated, ${plural(s.ratings, 'rating', 'ratings')})` })),
	];
	if (s.prompts > 0)
		lines.push(el('div', { class: 'spot-line muted', 'data-spot': 'paired',
			text: `vs parent #${s.parent_id} on ${plural(s.prompts, 'prompt', 'prompts')}: reward ${num(s.rm_paired)} vs ${num(s.parent_rm_paired)}, ` +
				`people ${num(s.human_paired)} vs ${num(s.parent_human_paired)} (${s.worse} worse, ${s.better} better, ${s.ties} tied)` }));
	if (s.hacking)
		lines.push(el('div', { class: 'spot-line', 'data-spot': 'hacking' },
			el('span', { class: 'pill badge-hacking', 'data-hacking': 'true', text: 'hacking' }), ' ',
			el('span', { class: 'spot-reason', text: s.hacking_reason })));
	return el('div', { class: 'spot-check small', 'data-model': m.id }, ...lines);
}

/* The sentence of a rollback the watch caused (metrics.rollback.why
 * "hacking"), or null for any other rollback. */
export function hackingRollback(rb) {
	if (!rb || rb.why !== 'hacking') return null;
	return `Rolled back to #${rb.to} for reward hacking: ${rb.reason}.`;
}
