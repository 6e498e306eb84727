/*
 * tests/browser/markdown.test.mjs — web/js/markdown.js, the guidelines'
 * markdown subset, run in node as the page loads it: each construct against
 * HTML written out by hand, and hostile input (raw HTML, script and event
 * handlers, javascript:/data: links, quotes breaking out of an attribute,
 * unbalanced and deeply repeated markup) coming out as escaped text.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown as md } from '../../web/js/markdown.js';

test('the subset: headings, paragraphs, lists, emphasis, code, links', () => {
	assert.equal(md('# Title\n## Sub\n#### Deep\n###### Six'), '<h3>Title</h3>\n<h4>Sub</h4>\n<h6>Deep</h6>\n<h6>Six</h6>');
	assert.equal(md('# Title', { headingLevel: 2 }), '<h2>Title</h2>');
	assert.equal(md('# Closed ##'), '<h3>Closed</h3>');
	assert.equal(md('# Learn C#'), '<h3>Learn C#</h3>');
	assert.equal(md('one\ntwo\n\nthree'), '<p>one two</p>\n<p>three</p>');
	assert.equal(md('- a\n- b\n* c'), '<ul><li>a</li><li>b</li><li>c</li></ul>');
	assert.equal(md('1. first\n2. second\n   still second'), '<ol><li>first</li><li>second still second</li></ol>');
	assert.equal(md('intro\n- a\n\nafter'), '<p>intro</p>\n<ul><li>a</li></ul>\n<p>after</p>');
	assert.equal(md('- a\n1. b'), '<ul><li>a</li></ul>\n<ol><li>b</li></ol>');
	assert.equal(md('**bold** and *em* and _em_ and `x < y`'),
		'<p><strong>bold</strong> and <em>em</em> and <em>em</em> and <code>x &lt; y</code></p>');
	assert.equal(md('**bold *inner* text**'), '<p><strong>bold <em>inner</em> text</strong></p>');
	assert.equal(md('see [the docs](https://example.com/a?b=1&c=2) now'),
		'<p>see <a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">the docs</a> now</p>');
	assert.equal(md('[**big**](http://x.org)'), '<p><a href="http://x.org" rel="noopener noreferrer" target="_blank"><strong>big</strong></a></p>');
	assert.equal(md('`**not bold**`'), '<p><code>**not bold**</code></p>');
	assert.equal(md('2 * 3 * 4 and snake_case_name'), '<p>2 * 3 * 4 and snake_case_name</p>');
	assert.equal(md(''), '');
	assert.equal(md('\r\n\r\nx\r\n'), '<p>x</p>');
	assert.equal(md(null), '');
});

test('hostile input is text: no tag, attribute or link of its own', () => {
	assert.equal(md('<script>alert(1)</script>'), '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
	assert.equal(md('<img src=x onerror="alert(1)">'), '<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>');
	assert.equal(md('# <b>hi</b>'), '<h3>&lt;b&gt;hi&lt;/b&gt;</h3>');
	assert.equal(md('- <i>x</i> & y'), '<ul><li>&lt;i&gt;x&lt;/i&gt; &amp; y</li></ul>');
	assert.equal(md('`<script>`'), '<p><code>&lt;script&gt;</code></p>');
	// links to anything but http(s) stay text
	assert.equal(md('[click](javascript:alert(1))'), '<p>[click](javascript:alert(1))</p>');
	assert.equal(md('[click](JavaScript:alert%281%29)'), '<p>[click](JavaScript:alert%281%29)</p>');
	assert.equal(md('[click](data:text/html,<script>x</script>)'), '<p>[click](data:text/html,&lt;script&gt;x&lt;/script&gt;)</p>');
	assert.equal(md('[click](//evil.example)'), '<p>[click](//evil.example)</p>');
	assert.equal(md('[click](  javascript:x)'), '<p>[click](  javascript:x)</p>');
	// a quote cannot leave the href
	assert.equal(md('[x](https://a.b/"onmouseover="alert(1))'), '<p>[x](https://a.b/&quot;onmouseover=&quot;alert(1))</p>');
	assert.equal(md('[x](https://a.b/"onmouseover="alert`1`)'),
		'<p><a href="https://a.b/&quot;onmouseover=&quot;alert`1`" rel="noopener noreferrer" target="_blank">x</a></p>');
	assert.equal(md("[x](https://a.b/'x')"), '<p><a href="https://a.b/&#39;x&#39;" rel="noopener noreferrer" target="_blank">x</a></p>');
	// unbalanced markup shows as typed
	assert.equal(md('**open and *half and `tick'), '<p>**open and *half and `tick</p>');
	assert.equal(md('[no close](https://x.y'), '<p>[no close](https://x.y</p>');
	assert.equal(md('**a `b** c`'), '<p><strong>a `b</strong> c`</p>');
	assert.equal(md('# '), '<p>#</p>');
});

test('long and repeated markup renders quickly and stays balanced', () => {
	for (const unit of ['[', '**', '*a', '`', '_', '<', '[a](', '[a](https://x)']) {
		const text = unit.repeat(20000);
		const t0 = Date.now();
		const html = md(text);
		assert.ok(Date.now() - t0 < 2000, `${JSON.stringify(unit)} × 20000 took ${Date.now() - t0} ms`);
		// every tag it opens it closes, in order
		const stack = [];
		for (const m of html.matchAll(/<(\/?)([a-z0-9]+)[^>]*>/g)) {
			if (m[1]) assert.equal(stack.pop(), m[2], `${JSON.stringify(unit)}: </${m[2]}>`);
			else stack.push(m[2]);
		}
		assert.deepEqual(stack, [], JSON.stringify(unit));
		assert.ok(!/<(?!\/?(p|h[1-6]|ul|ol|li|strong|em|code|a)[ >])/.test(html), `${JSON.stringify(unit)}: only the subset's tags`);
	}
});
