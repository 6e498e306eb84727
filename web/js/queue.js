/*
 * web/js/queue.js — the admin page's queue-order settings (Settings panel):
 * queue_order ("auto", "uncertain", "fifo") and queue_random_share of
 * GET/PUT /api/config, the order in which /api/tasks/next hands groups to
 * raters (db/tasks.c).  The server's validation message goes under the field.
 */
import { api, showError } from './api.js';
import { fieldError, clearFieldErrors } from './format.js';

const $ = (id) => document.getElementById(id);

function show(cfg) {
	$('queue-order').value = cfg.queue_order ?? 'auto';
	$('queue-share').value = cfg.queue_random_share ?? 0.2;
}

/* Adds its part to the Settings tab's loader (loaders.settings). */
export function initQueue(loaders) {
	const before = loaders.settings;
	loaders.settings = async (arg) => {
		if (before) await before(arg);
		show(await api('GET', '/api/config'));
	};
	$('queue-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearFieldErrors($('queue-form'));
		$('queue-status').textContent = '';
		const share = $('queue-share').value === '' ? NaN : Number($('queue-share').value);
		if (!Number.isFinite(share)) {
			fieldError($('queue-share'), 'A number from 0 to 1.');
			return;
		}
		try {
			show(await api('PUT', '/api/config', { queue_order: $('queue-order').value, queue_random_share: share }));
			showError('');
			$('queue-status').textContent = 'Saved.';
		} catch (e) {
			const input = e.field === 'queue_order' ? $('queue-order') : e.field === 'queue_random_share' ? $('queue-share') : null;
			if (input) fieldError(input, e.message);
			else showError(`Could not save the queue order: ${e.message}`);
		}
	});
}
