/*
 * web/js/login.js — the sign-in page: trades a token for a session cookie
 * (POST /api/login) and sends admins to /admin, raters to /rate.  An already
 * signed-in browser is forwarded at once.  After a session ended (?expired=1)
 * it says so, and whether unsent scores wait in this browser.
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

/* Sent back here by a page whose session ended: say so, and that unsent
 * scores (rate.js keeps them in localStorage per rater) wait for the sign-in. */
function explainExpiry() {
	if (new URLSearchParams(location.search).get('expired') !== '1') return;
	let kept = false;
	try {
		for (let i = 0; i < localStorage.length; i++) if (/^rlhfd\.draft\./.test(localStorage.key(i))) kept = true;
	} catch (e) { /* no storage */ }
	const box = document.getElementById('notice');
	box.textContent = 'Your session has ended; sign in again to go on.' +
		(kept ? ' The scores you had not sent yet are kept in this browser and come back after you sign in.' : '');
	box.hidden = false;
}

explainExpiry();
alreadySignedIn();
