/*
 * web/js/format.js — what the Jobs, Models and Training panels share: times and
 * durations as people read them, the status badge of a job, the result line of
 * a finished job, and the inline error slot of a form field (server validation
 * messages land next to the field they name).
 */
import { el } from './api.js';
import { formatNumber } from './chart.js';

export { formatNumber };

/* "14:05:09" today, "27 Nov 14:05" otherwise; '—' for null. */
export function formatTime(iso) {
	if (!iso) return '—';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return String(iso);
	const now = new Date();
	const hm = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
	if (d.toDateString() === now.toDateString()) return hm;
	return `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${hm.slice(0, 5)}`;
}

/* "0.4 s", "12 s", "3 min 04 s", "1 h 02 min"; '' when start is missing. */
export function formatDuration(startIso, endIso) {
	if (!startIso) return '';
	const a = new Date(startIso).getTime(), b = endIso ? new Date(endIso).getTime() : Date.now();
	if (!Number.isFinite(a) || !Number.isFinite(b)) return '';
	const sec = Math.max(0, (b - a) / 1000);
	if (sec < 10) return `${sec.toFixed(sec < 1 ? 1 : 0)} s`;
	if (sec < 60) return `${Math.round(sec)} s`;
	const m = Math.floor(sec / 60), s = Math.round(sec % 60);
	if (m < 60) return `${m} min ${String(s).padStart(2, '0')} s`;
	return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export const FINISHED = ['succeeded', 'failed', 'cancelled'];
export const isLive = (job) => job.status === 'queued' || job.status === 'running';

/* The status badge: class status-<status>; "cancelling" while a cancel is pending. */
export function statusBadge(job) {
	const text = job.status === 'running' && job.cancel_requested ? 'cancelling' : job.status;
	return el('span', { class: `status status-${job.status}`, 'data-status': job.status, text });
}

/* One line saying what a finished job produced (or why it stopped). */
export function jobResult(job) {
	const m = job.metrics || {};
	if (job.status === 'failed') return job.error || 'failed';
	if (job.status === 'cancelled') return job.started_at ? 'cancelled while running' : 'cancelled before it started';
	if (job.status === 'queued') return 'waiting for the worker';
	const parts = [];
	if (job.kind === 'generate') {
		if (typeof m.responses === 'number') parts.push(`${m.responses} answers in ${m.groups} groups`);
	} else if (job.kind === 'eval') {
		if (typeof m.reward_mean === 'number') parts.push(`reward ${formatNumber(m.reward_mean)}`);
		if (typeof m.win_rate === 'number') parts.push(`win rate ${formatNumber(m.win_rate)}`);
		if (typeof m.kl === 'number') parts.push(`KL ${formatNumber(m.kl)}`);
	} else {
		if (job.model_id && job.status === 'succeeded') parts.push(`model #${job.model_id}`);
		if (typeof m.heldout_acc === 'number') parts.push(`held-out acc ${formatNumber(m.heldout_acc)}`);
		if (typeof m.cv_acc === 'number') parts.push(`cross-validated ${formatNumber(m.cv_acc)}`);
		if (typeof m.reward_last === 'number') parts.push(`reward ${formatNumber(m.reward_last)}`);
		if (typeof m.kl_last === 'number') parts.push(`KL ${formatNumber(m.kl_last)}`);
		if (typeof m.loss === 'number' && typeof m.heldout_acc !== 'number') parts.push(`loss ${formatNumber(m.loss)}`);
	}
	if (job.status === 'running' && !parts.length) return '';
	return parts.join(' · ');
}

/*
 * Shows msg under a field: the element id+'-error' (created after the field when
 * missing), aria-invalid on the field.  msg '' clears it.
 */
export function fieldError(input, msg) {
	if (!input) return;
	let slot = document.getElementById(input.id + '-error');
	if (!slot) {
		slot = el('p', { id: input.id + '-error', class: 'field-error', hidden: true });
		input.insertAdjacentElement('afterend', slot);
	}
	const ids = new Set((input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
	ids.add(slot.id);
	input.setAttribute('aria-describedby', [...ids].join(' '));
	slot.textContent = msg || '';
	slot.hidden = !msg;
	if (msg) input.setAttribute('aria-invalid', 'true');
	else input.removeAttribute('aria-invalid');
}

/* Clears every field error inside root. */
export function clearFieldErrors(root) {
	for (const p of root.querySelectorAll('.field-error')) { p.textContent = ''; p.hidden = true; }
	for (const i of root.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}
