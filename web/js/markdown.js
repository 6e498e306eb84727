/*
 * web/js/markdown.js — a small, safe markdown subset for the rating
 * guidelines (admin-written text shown to raters): headings (# to ######),
 * paragraphs (lines joined, blank lines between), bulleted (- or *) and
 * numbered (1.) lists, **strong**, *emphasis* / _emphasis_, `inline code`
 * and [links](https://…) whose address is http or https.
 *
 * Everything else is text: every character of the input reaches the page
 * escaped, so raw HTML, a javascript: or data: link, an unclosed ** or ` all
 * show as they were typed.  renderMarkdown returns HTML text made only of the
 * tags above (each opened and closed in the same call, so the result is
 * always balanced) and is the only way the pages turn guidelines into markup.
 * No DOM here: the node tests import it as it is (tests/browser/markdown.test.mjs).
 */

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const MAX_LINK_TEXT = 500;
const MAX_URL = 2000;

export function escapeHtml(s) {
	return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

/* An address a link may take: http(s), no white space or control characters. */
export function safeUrl(url) {
	return url.length <= MAX_URL && /^https?:\/\/[^\s\u0000-\u001f\u007f]+$/i.test(url);
}

/* [text](url), anchored where it is tried (sticky); bounded, so a line of
 * thousands of "[" costs no more than its length times the bound. */
const LINK = new RegExp(`\\[([^\\]\\n]{1,${MAX_LINK_TEXT}})\\]\\(([^()\\s]{1,${MAX_URL}})\\)`, 'y');

/* Inline markup of one paragraph, list item or heading. */
function inline(s) {
	let out = '';
	let i = 0;
	while (i < s.length) {
		const c = s[i];
		if (c === '`') {
			const j = s.indexOf('`', i + 1);
			if (j > i + 1) {
				out += `<code>${escapeHtml(s.slice(i + 1, j))}</code>`;
				i = j + 1;
				continue;
			}
		} else if (c === '*' && s[i + 1] === '*') {
			const j = s.indexOf('**', i + 2);
			if (j > i + 2) {
				out += `<strong>${inline(s.slice(i + 2, j))}</strong>`;
				i = j + 2;
				continue;
			}
			out += '**';   /* unclosed: both stars as text */
			i += 2;
			continue;
		} else if (c === '*' || c === '_') {
			const j = s.indexOf(c, i + 1);
			/* "*a*" but not "2 * 3 * 4" nor snake_case_words */
			const wordy = c === '_' && (/\w/.test(s[i - 1] || '') || /\w/.test(s[j + 1] || ''));
			if (j > i + 1 && !/\s/.test(s[i + 1]) && !/\s/.test(s[j - 1]) && !wordy) {
				out += `<em>${inline(s.slice(i + 1, j))}</em>`;
				i = j + 1;
				continue;
			}
		} else if (c === '[') {
			LINK.lastIndex = i;
			const m = LINK.exec(s);
			if (m && safeUrl(m[2])) {
				out += `<a href="${escapeHtml(m[2])}" rel="noopener noreferrer" target="_blank">${inline(m[1])}</a>`;
				i += m[0].length;
				continue;
			}
		}
		out += ESC[c] || c;
		i++;
	}
	return out;
}

/*
 * text → HTML.  opts.headingLevel: the level "#" becomes (default 3, so the
 * guidelines sit under a page's h1 and a panel's h2); deeper ones follow, up
 * to h6.
 */
export function renderMarkdown(text, opts = {}) {
	const base = opts.headingLevel || 3;
	const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
	const out = [];
	let para = [];
	let list = null;   /* { tag: 'ul' | 'ol', items: [] } */
	const flush = () => {
		if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
		para = [];
		if (list) out.push(`<${list.tag}>${list.items.map((x) => `<li>${inline(x)}</li>`).join('')}</${list.tag}>`);
		list = null;
	};
	for (const raw of lines) {
		const line = raw.trim();
		let m;
		if (!line) {
			flush();
		} else if ((m = /^(#{1,6})\s+(.*?\S)(?:\s+#+)?$/.exec(line))) {
			flush();
			const level = Math.min(6, base + m[1].length - 1);
			out.push(`<h${level}>${inline(m[2])}</h${level}>`);
		} else if ((m = /^([-*]|\d{1,9}[.)])\s+(.*)$/.exec(line))) {
			const tag = /\d/.test(m[1]) ? 'ol' : 'ul';
			if (para.length || (list && list.tag !== tag)) flush();
			if (!list) list = { tag, items: [] };
			list.items.push(m[2]);
		} else if (list && /^\s/.test(raw)) {
			list.items[list.items.length - 1] += ' ' + line;   /* an item's continued line */
		} else {
			if (list) flush();
			para.push(line);
		}
	}
	flush();
	return out.join('\n');
}
