/*
 * tests/browser/admin_raters.test.mjs — taking access back from the admin page:
 * Disable cuts a rater's token at once (after an in-place confirmation: one
 * click arms the button, nothing happens until the second), Enable gives it
 * back, New token (confirmed the same way) shows a fresh token once and kills
 * the old one.
 */
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater } from '../lib/fixtures.mjs';
import { launch, newPage, login } from '../lib/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('raters tab: disable / enable a rater and give them a new token', async () => {
	const srv = await startServer();
	try {
		const gus = await createRater(srv, 'gus');
		const page = await newPage(browser);
		await login(page, srv.url, srv.adminToken, '/admin');
		await page.click('#tab-raters');
		const row = () => page.locator('#raters tbody tr', { hasText: 'gus' });
		await row().waitFor();

		await row().getByRole('button', { name: 'Disable gus' }).click();
		await row().getByRole('button', { name: /^Confirm: disable gus/ }).waitFor();
		assert.equal((await gus.client.get('/api/me')).status, 200, 'one click only arms the button');
		await row().getByRole('button', { name: /^Confirm: disable gus/ }).click();
		await row().locator('.pill.disabled').waitFor();
		assert.equal((await gus.client.get('/api/me')).status, 401, 'the token is cut');

		await row().getByRole('button', { name: 'Enable gus' }).click();
		await page.waitForFunction(() => ![...document.querySelectorAll('#raters tbody tr')].some((tr) => tr.textContent.includes('gus') && tr.querySelector('.pill.disabled')));
		assert.equal((await gus.client.get('/api/me')).status, 200, 'the token works again');

		await row().getByRole('button', { name: 'New token for gus' }).click();
		await row().getByRole('button', { name: /^Confirm: new token for gus/ }).click();
		await page.waitForSelector('#new-token:not([hidden])');
		const token = await page.inputValue('#new-token-value');
		assert.match(token, /^[0-9a-f]{64}$/);
		assert.match(await page.textContent('#new-token-who'), /gus/);
		assert.equal((await gus.client.get('/api/me')).status, 401, 'the old token is dead');
		assert.equal((await srv.client(token).get('/api/me')).status, 200, 'the shown token works');
		await page.screenshot({ path: '/tmp/rlhfd-admin-raters.png', fullPage: true });
		assert.deepEqual(page.problems, []);
		assert.deepEqual(page.dialogs, [], 'no native dialog');
	} finally { await srv.stop(); }
});
