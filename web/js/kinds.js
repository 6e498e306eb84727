/*
 * web/js/kinds.js — the registry of job kinds as the server lists it
 * (GET /api/jobs/kinds): every kind with its parameters — type, range or
 * choices, default, a line of help — and the auto-training settings.  The
 * Jobs and Training panels build their forms from it; no job setting, default
 * or range is written in web/.  Read once per page.
 */
import { api } from './api.js';

let pending = null;

/* Resolves to { kinds: [kind...], byName: Map(name → kind), autoTrain: [param...] }. */
export function jobKinds() {
	if (!pending) {
		pending = api('GET', '/api/jobs/kinds').then((r) => ({
			kinds: r.kinds || [],
			byName: new Map((r.kinds || []).map((k) => [k.name, k])),
			autoTrain: (r.auto_train && r.auto_train.params) || [],
		}));
		pending.catch(() => { pending = null; });   // a failed read is tried again next time
	}
	return pending;
}

/* The placeholder a number or text field shows: the default as the server
 * gave it, '' when the default is decided at run time (null; the help line
 * says how). */
export function placeholderOf(param) {
	return param.default === null || param.default === undefined ? '' : String(param.default);
}
