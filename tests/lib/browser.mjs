/*
 * tests/lib/browser.mjs — real headless Chromium (Debian's /usr/bin/chromium)
 * driven by playwright-core, plus signing in through the login page.
 */
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function launch() {
	return chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--no-first-run'],
	});
}

/*
 * A new page (own context, so own cookies) with every console error, page error,
 * CSP violation and dialog recorded in page.problems / page.dialogs.
 */
export async function newPage(browser, opts = {}) {
	const ctx = await browser.newContext({ viewport: opts.viewport || { width: 1366, height: 860 }, colorScheme: opts.colorScheme || 'light' });
	const page = await ctx.newPage();
	page.problems = [];
	page.dialogs = [];
	page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
	// The login page probes /api/me to forward signed-in users; its 401 is expected.
	page.on('console', (m) => {
		if (m.type() === 'error' && !/status of 401/.test(m.text())) page.problems.push(`console: ${m.text()}`);
	});
	page.on('dialog', async (d) => { page.dialogs.push(d.message()); await d.dismiss(); });
	return page;
}

/* Signs in through index.html with a token; resolves when the target page is shown. */
export async function login(page, base, token, landing) {
	await page.goto(base + '/');
	await page.fill('#token', token);
	await page.keyboard.press('Enter');
	await page.waitForURL(base + landing);
}
