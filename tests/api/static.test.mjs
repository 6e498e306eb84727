/*
 * tests/api/static.test.mjs — the web UI as served: pages at /, /rate, /admin
 * with the security headers, assets with their content types, plain 404 for
 * unknown files; and a scan of web/ proving the pages can live under the strict
 * CSP (no inline script or style) and never put data through innerHTML.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startServer, ROOT } from '../lib/server.mjs';

const CSP = {
	'default-src': "'self'", 'script-src': "'self'", 'style-src': "'self'", 'img-src': "'self' data:",
	'connect-src': "'self'", 'object-src': "'none'", 'frame-ancestors': "'none'",
};

function cspMap(h) {
	return Object.fromEntries(h.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
		const [k, ...v] = d.split(/\s+/);
		return [k, v.join(' ')];
	}));
}

test('pages are served with the strict CSP and security headers', async () => {
	const srv = await startServer();
	try {
		for (const [p, marker] of [['/', 'login.js'], ['/rate', 'rate.js'], ['/admin', 'admin.js'], ['/index.html', 'login.js']]) {
			const r = await fetch(srv.url + p);
			assert.equal(r.status, 200, `${p}`);
			assert.match(r.headers.get('content-type') || '', /^text\/html/);
			const body = await r.text();
			assert.ok(body.includes(marker), `${p} is the right page`);
			const csp = r.headers.get('content-security-policy');
			assert.ok(csp, `${p} has a CSP`);
			assert.deepEqual(cspMap(csp), CSP);
			assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
			assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
			assert.match(r.headers.get('cache-control') || '', /no-cache/);
		}
		for (const [p, type] of [['/style.css', /^text\/css/], ['/js/api.js', /javascript/], ['/js/rate.js', /javascript/], ['/favicon.svg', /^image\/svg\+xml/]]) {
			const r = await fetch(srv.url + p);
			assert.equal(r.status, 200, p);
			assert.match(r.headers.get('content-type') || '', type, p);
			assert.equal(await r.text(), readFileSync(path.join(ROOT, 'web', p)).toString(), `${p} served byte for byte`);
		}
		const nf = await fetch(srv.url + '/no-such-page.html');
		assert.equal(nf.status, 404);
		await nf.text();
	} finally { await srv.stop(); }
});

function walk(dir) {
	return readdirSync(dir).flatMap((f) => {
		const p = path.join(dir, f);
		return statSync(p).isDirectory() ? walk(p) : [p];
	});
}

test('web/ has no inline script or style and no HTML sinks for data', () => {
	const files = walk(path.join(ROOT, 'web'));
	const html = files.filter((f) => f.endsWith('.html'));
	const js = files.filter((f) => f.endsWith('.js'));
	assert.ok(html.length >= 3 && js.length >= 3);
	for (const f of html) {
		const s = readFileSync(f, 'utf8');
		for (const m of s.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
			assert.match(m[1], /\bsrc=/, `${f}: inline <script>`);
			assert.equal(m[2].trim(), '', `${f}: script with a body`);
		}
		assert.ok(!/<style\b/i.test(s), `${f}: <style> element`);
		assert.ok(!/\sstyle\s*=/i.test(s), `${f}: style= attribute`);
		assert.ok(!/\son[a-z]+\s*=/i.test(s), `${f}: inline event handler`);
		assert.ok(!/javascript:/i.test(s), `${f}: javascript: URL`);
		assert.ok(!/https?:\/\//i.test(s.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')), `${f}: external URL (works offline, no CDN)`);
	}
	for (const f of js) {
		const s = readFileSync(f, 'utf8');
		for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', "setAttribute('style'"])
			assert.ok(!s.includes(bad), `${f}: uses ${bad}`);
		assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(s), `${f}: external URL`);
	}
});
