/*
 * web/js/api.js — what every page shares: calling the JSON API with the session
 * cookie (and the CSRF token on state-changing requests), building DOM nodes whose
 * text is always set with textContent (stored text is never parsed as HTML),
 * and the signed-in header.
 */

let csrfToken = null;

/* Remembers the CSRF token the server gave with /api/login or /api/me. */
export function setCsrf(token) { csrfToken = token || null; }

/* An error the API answered: status plus the {error:{code,message,field?}} body. */
export class ApiError extends Error {
	constructor(status, code, message, field) {
		super(message);
		this.status = status;
		this.code = code;
		this.field = field || null;
	}
}

/*
 * Calls the API.  body: an object (sent as JSON), a string (sent as is with
 * opts.contentType) or undefined.  Resolves to the parsed JSON (null for an
 * empty body such as 204), rejects with ApiError.  A 401 on any page but the
 * login page sends the browser back to the login page.
 */
export async function api(method, path, body, opts = {}) {
	const headers = { Accept: 'application/json' };
	let payload;
	if (body !== undefined) {
		if (typeof body === 'string') {
			payload = body;
			headers['Content-Type'] = opts.contentType || 'text/plain';
		} else {
			payload = JSON.stringify(body);
			headers['Content-Type'] = 'application/json';
		}
	}
	if (method !== 'GET' && method !== 'HEAD' && csrfToken)
		headers['X-CSRF-Token'] = csrfToken;
	let res;
	try {
		res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
	} catch (e) {
		throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
	}
	if (res.status === 401 && !opts.noRedirect) {
		// signed in before (the page has its CSRF token): the session has ended
		location.assign('/?next=' + encodeURIComponent(location.pathname) + (csrfToken ? '&expired=1' : ''));
		throw new ApiError(401, 'unauthorized', 'Your session has ended; please sign in again.');
	}
	const text = await res.text();
	let data = null;
	if (text) {
		try { data = JSON.parse(text); } catch (e) { data = null; }
	}
	if (!res.ok) {
		const err = data && data.error ? data.error : {};
		throw new ApiError(res.status, err.code || 'http_' + res.status,
			err.message || `The server answered ${res.status} ${res.statusText}.`, err.field);
	}
	return res.status === 204 ? null : data;
}

/*
 * Creates an element.  attrs: plain attributes, except `text` (textContent),
 * `class`, `on<event>` handlers and boolean `hidden`/`disabled`.  children:
 * nodes or strings (strings become text nodes, never HTML).
 */
export function el(tag, attrs = {}, ...children) {
	const node = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'text') node.textContent = v;
		else if (k === 'class') node.className = v;
		else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
		else if (v === true) node.setAttribute(k, '');
		else node.setAttribute(k, String(v));
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false) continue;
		node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
	}
	return node;
}

/* Shows msg (text) in the page's alert region, or hides it when msg is empty. */
export function showError(msg) {
	const box = document.getElementById('error');
	if (!box) return;
	box.textContent = msg || '';
	box.hidden = !msg;
}

/* The current user, or a redirect to the login page. */
export async function whoami() {
	const me = await api('GET', '/api/me');
	setCsrf(me.csrf_token);
	return me;
}

/* Fills the header's user slot and wires the sign-out button. */
export function setupHeader(me) {
	const who = document.getElementById('who');
	if (who) who.textContent = `${me.name} · ${me.role}`;
	for (const link of document.querySelectorAll('[data-role="admin"]'))
		link.hidden = me.role !== 'admin';
	const out = document.getElementById('logout');
	if (out) out.addEventListener('click', async () => {
		try { await api('POST', '/api/logout', {}, { noRedirect: true }); } catch (e) { /* leaving anyway */ }
		location.assign('/');
	});
}

/* "3 ratings" / "1 rating". */
export function plural(n, word) { return `${n} ${word}${n === 1 ? '' : 's'}`; }
