/*
 * web/js/login.js — the sign-in page: trades a token for a session cookie
 * (POST /api/login) and sends admins to /admin, raters to /rate.  An already
 * signed-in browser is forwarded at once.
 */
import { api, showError } from './api.js';

function destination(role) {
	const want = new URLSearchParams(location.search).get('next');
	if (want === '/rate' || (want === '/admin' && role === 'admin')) return want;
	return role === 'admin' ? '/admin' : '/rate';
}

async function alreadySignedIn() {
	try {
		const me = await api('GET', '/api/me', undefined, { noRedirect: true });
		location.replace(destination(me.role));
	} catch (e) { /* not signed in: stay */ }
}

const form = document.getElementById('login-form');
const input = document.getElementById('token');
const button = document.getElementById('login-btn');

form.addEventListener('submit', async (ev) => {
	ev.preventDefault();
	const token = input.value.trim();
	if (!token) { showError('Enter your access token.'); input.focus(); return; }
	button.disabled = true;
	showError('');
	try {
		const me = await api('POST', '/api/login', { token }, { noRedirect: true });
		location.assign(destination(me.role));
	} catch (e) {
		showError(e.status === 401 ? 'That token is not valid.' : e.message);
		input.select();
		button.disabled = false;
	}
});

alreadySignedIn();
