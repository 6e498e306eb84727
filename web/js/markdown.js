/*
 * web/js/markdown.js — a small, safe markdown subset for the rating
 * guidelines (admin-written text shown to raters): headings (# to ######),
 * paragraphs (lines joined, blank lines between), bulleted (- or *) and
 * numbered (1.) lists, **strong**, *emphasis* / _emphasis_, `inline code`
 * and [links](address) whose address is http or https.
 *
 * Everything else is text, so raw HTML, a javascript: or data: link, an
 * unclosed ** or ` all show as they were typed.  parseMarkdown turns the text
 * into a tree of the tags above and text strings; markdownToDom builds the
 * page's nodes from it with createElement and text nodes only (no HTML is
 * ever parsed: the pages set no HTML text), and renderMarkdown writes the
 * same tree as escaped HTML text, which is what the node tests read
 * (tests/browser/markdown.test.mjs: no DOM needed).
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

/* Appends text to out, merged with a text node before it. */
function pushText(out, t) {
	if (typeof out[out.length - 1] === 'string') out[out.length - 1] += t;
	else out.push(t);
}

/* Inline markup of one paragraph, list item or heading: an array of text
 * strings and { tag, href?, children } nodes. */
function inline(s) {
	const out = [];
	let i = 0;
	while (i < s.length) {
		const c = s[i];
		if (c === '`') {
			const j = s.indexOf('`', i + 1);
			if (j > i + 1) {
				out.push({ tag: 'code', children: [s.slice(i + 1, j)] });
				i = j + 1;
				continue;
			}
		} else if (c === '*' && s[i + 1] === '*') {
			const j = s.indexOf('**', i + 2);
			if (j > i + 2) {
				out.push({ tag: 'strong', children: inline(s.slice(i + 2, j)) });
				i = j + 2;
				continue;
			}
			pushText(out, '**');   /* unclosed: both stars as text */
			i += 2;
			continue;
		} else if (c === '*' || c === '_') {
			const j = s.indexOf(c, i + 1);
			/* "*a*" but not "2 * 3 * 4" nor snake_case_words */
			const wordy = c === '_' && (/\w/.test(s[i - 1] || '') || /\w/.test(s[j + 1] || ''));
			if (j > i + 1 && !/\s/.test(s[i + 1]) && !/\s/.test(s[j - 1]) && !wordy) {
				out.push({ tag: 'em', children: inline(s.slice(i + 1, j)) });
				i = j + 1;
				continue;
			}
		} else if (c === '[') {
			LINK.lastIndex = i;
			const m = LINK.exec(s);
			if (m && safeUrl(m[2])) {
				out.push({ tag: 'a', href: m[2], children: inline(m[1]) });
				i += m[0].length;
				continue;
			}
		}
		pushText(out, c);
		i++;
	}
	return out;
}

/*
 * text → an array of block nodes ({ tag, children }: h3..h6, p, ul, ol with
 * li children).  opts.headingLevel: the level "#" becomes (default 3, so the
 * guidelines sit under a page's h1 and a panel's h2); deeper ones follow, up
 * to h6.
 */
export function parseMarkdown(text, opts = {}) {
	const base = opts.headingLevel || 3;
	const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
	const out = [];
	let para = [];
	let list = null;   /* { tag: 'ul' | 'ol', items: [] } */
	const flush = () => {
		if (para.length) out.push({ tag: 'p', children: inline(para.join(' ')) });
		para = [];
		if (list) out.push({ tag: list.tag, children: list.items.map((x) => ({ tag: 'li', children: inline(x) })) });
		list = null;
	};
	for (const raw of lines) {
		const line = raw.trim();
		let m;
		if (!line) {
			flush();
		} else if ((m = /^(#{1,6})\s+(.*?\S)(?:\s+#+)?$/.exec(line))) {
			flush();
			out.push({ tag: `h${Math.min(6, base + m[1].length - 1)}`, children: inline(m[2]) });
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
	return out;
}

function nodeHtml(n) {
	if (typeof n === 'string') return escapeHtml(n);
	const inner = n.children.map(nodeHtml).join('');
	if (n.tag === 'a') return `<a href="${escapeHtml(n.href)}" rel="noopener noreferrer" target="_blank">${inner}</a>`;
	return `<${n.tag}>${inner}</${n.tag}>`;
}

/* text → escaped HTML text of the same tree (blocks one a line). */
export function renderMarkdown(text, opts = {}) {
	return parseMarkdown(text, opts).map(nodeHtml).join('\n');
}

function nodeDom(n, doc) {
	if (typeof n === 'string') return doc.createTextNode(n);
	const e = doc.createElement(n.tag);
	if (n.tag === 'a') {
		e.setAttribute('href', n.href);   /* checked by safeUrl */
		e.setAttribute('rel', 'noopener noreferrer');
		e.setAttribute('target', '_blank');
	}
	for (const c of n.children) e.append(nodeDom(c, doc));
	return e;
}

/* text → a DocumentFragment of the same tree, built node by node. */
export function markdownToDom(text, opts = {}, doc = document) {
	const f = doc.createDocumentFragment();
	for (const n of parseMarkdown(text, opts)) f.append(nodeDom(n, doc));
	return f;
}
