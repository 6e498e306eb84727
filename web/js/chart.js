/*
 * web/js/chart.js — small SVG charts drawn with DOM calls (no library, no inline
 * style): a bar chart for the score histogram, line charts (several named
 * series over a numeric x such as the training step or the model version,
 * optionally with an interval per point drawn as a band and error bars) with
 * axes, ticks, a legend and a hover/keyboard read-out of the values, and a
 * paired bar chart (each item's value beside the one it is compared with).
 * Colours come from CSS classes so dark mode applies.
 */
const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, text) {
	const n = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
	if (text !== undefined) n.textContent = text;
	return n;
}

/* Rounds max up to a "nice" axis top and returns [top, step]. */
function niceAxis(max) {
	if (max <= 0) return [1, 1];
	const raw = max / 4;
	const mag = 10 ** Math.floor(Math.log10(raw));
	const step = [1, 2, 5, 10].map((m) => m * mag).find((x) => x >= raw) || raw;
	const safe = Math.max(1, step >= 1 ? Math.round(step) : step);
	return [Math.ceil(max / safe) * safe, safe];
}

/*
 * Draws bars for values (an array of counts) labelled by labels, into a new
 * <svg> returned.  title: accessible name prefix.
 */
export function barChart(values, labels, title) {
	const W = 480, H = 240, left = 44, right = 12, top = 22, bottom = 34;
	const innerW = W - left - right, innerH = H - top - bottom;
	const max = Math.max(0, ...values);
	const [axisTop, step] = niceAxis(max);
	const desc = values.map((v, i) => `${labels[i]}: ${v}`).join(', ');
	const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'bar-chart', role: 'img', 'aria-label': `${title}. ${desc}` });
	for (let y = 0; y <= axisTop + 1e-9; y += step) {
		const py = top + innerH - (y / axisTop) * innerH;
		svg.append(s('line', { x1: left, x2: W - right, y1: py, y2: py, class: 'grid' }));
		svg.append(s('text', { x: left - 8, y: py + 4, class: 'axis', 'text-anchor': 'end' }, String(Math.round(y * 100) / 100)));
	}
	const slot = innerW / values.length, barW = Math.min(64, slot * 0.62);
	values.forEach((v, i) => {
		const h = axisTop ? (v / axisTop) * innerH : 0;
		const x = left + slot * i + (slot - barW) / 2, y = top + innerH - h;
		const g = s('g', { class: 'bar', 'data-label': labels[i], 'data-value': v });
		const rect = s('rect', { x, y, width: barW, height: Math.max(h, v > 0 ? 1 : 0), rx: 3, class: `fill-${i + 1}` });
		rect.append(s('title', {}, `${labels[i]}: ${v}`));
		g.append(rect);
		g.append(s('text', { x: x + barW / 2, y: y - 6, class: 'value', 'text-anchor': 'middle' }, String(v)));
		g.append(s('text', { x: x + barW / 2, y: H - bottom + 20, class: 'axis label', 'text-anchor': 'middle' }, labels[i]));
		svg.append(g);
	});
	svg.append(s('line', { x1: left, x2: W - right, y1: top + innerH, y2: top + innerH, class: 'baseline' }));
	return svg;
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* A short human form of a number: 0.6931, 12.5, 1,234, 3.0e-4. */
export function formatNumber(v) {
	if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
	const a = Math.abs(v);
	if (a === 0) return '0';
	if (a >= 1e6 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
	if (a >= 1000) return Math.round(v).toLocaleString('en-US');
	return String(Number(v.toPrecision(4)));
}

/* About n "nice" tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo, hi, n = 5) {
	if (!(hi > lo)) {
		const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
		lo -= pad; hi += pad;
	}
	const raw = (hi - lo) / Math.max(1, n);
	const mag = 10 ** Math.floor(Math.log10(raw));
	const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw * 0.999) || raw;
	const first = Math.floor(lo / step + 1e-9) * step, last = Math.ceil(hi / step - 1e-9) * step;
	const ticks = [];
	for (let i = 0; first + i * step <= last + step * 1e-6 && i < 100; i++)
		ticks.push(Number((first + i * step).toPrecision(12)));
	return ticks;
}

/* ---- line chart ------------------------------------------------------------------------- */

const SERIES_CLASSES = 8;

/*
 * Draws series = [{ name, points: [[x, y], ...] }] (points in any order;
 * non-finite values skipped) as lines into a new <figure> returned.  A point
 * may be [x, y, lo, hi]: an interval around y (a 95 % confidence interval),
 * drawn as an error bar (<line class="error-bar" data-x data-lo data-hi>) and,
 * across a series' points that have one, a shaded band; the y range takes the
 * intervals in and the read-out gives "y [lo, hi]".  The chart is:
 * an <svg> with a y axis (nice ticks), an x axis (integer ticks when
 * opts.integerX), one <polyline data-series=name> per series (markers too when
 * a series has few points), an HTML legend, and a read-out of every series'
 * value at the x nearest the pointer (or chosen with the arrow keys when the
 * chart has focus).
 *   opts.title    figure caption and accessible name
 *   opts.xLabel   the x axis name ("step")
 *   opts.xFormat  x value → text (default formatNumber)
 *   opts.yMin/yMax force the y range to include these values (e.g. 0 and 1)
 *   opts.state    an object kept by the caller across redraws of the "same"
 *                 chart: the read-out stays where it was when a live chart is
 *                 redrawn with new points.
 */
export function lineChart(series, opts = {}) {
	const W = 520, H = 250, left = 56, right = 16, top = 14, bottom = 40;
	const innerW = W - left - right, innerH = H - top - bottom;
	const xFormat = opts.xFormat || formatNumber;
	const state = opts.state || {};
	const clean = series.map((sr, i) => ({
		name: sr.name, cls: `series-${i % SERIES_CLASSES}`,
		points: sr.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]),
	}));
	const all = clean.flatMap((sr) => sr.points);
	const hasBand = (p) => p.length >= 4 && Number.isFinite(p[2]) && Number.isFinite(p[3]);
	const fig = document.createElement('figure');
	fig.className = 'line-figure';
	if (opts.title) {
		const cap = document.createElement('figcaption');
		cap.textContent = opts.title;
		fig.append(cap);
	}
	if (all.length === 0) {
		const p = document.createElement('p');
		p.className = 'muted small';
		p.textContent = 'No values yet.';
		fig.append(p);
		return fig;
	}

	let xMin = Math.min(...all.map((p) => p[0])), xMax = Math.max(...all.map((p) => p[0]));
	let yLo = Math.min(...all.map((p) => hasBand(p) ? Math.min(p[1], p[2]) : p[1]));
	let yHi = Math.max(...all.map((p) => hasBand(p) ? Math.max(p[1], p[3]) : p[1]));
	if (typeof opts.yMin === 'number') yLo = Math.min(yLo, opts.yMin);
	if (typeof opts.yMax === 'number') yHi = Math.max(yHi, opts.yMax);
	const yt = niceTicks(yLo, yHi, 4);
	const y0 = yt[0], y1 = yt[yt.length - 1];
	const dataXMin = xMin, dataXMax = xMax;
	if (xMax === xMin) { xMin -= 1; xMax += 1; }
	let xt = niceTicks(dataXMin, dataXMax, 6).filter((t) => t >= dataXMin - 1e-9 && t <= dataXMax + 1e-9);
	if (opts.integerX) xt = xt.filter((t) => Number.isInteger(t));
	const px = (x) => left + ((x - xMin) / (xMax - xMin)) * innerW;
	const py = (y) => top + innerH - ((y - y0) / (y1 - y0)) * innerH;

	const label = `${opts.title || 'Chart'}: ` + clean.map((sr) => {
		const n = sr.points.length;
		const last = sr.points[n - 1];
		return n ? `${sr.name}, ${n} point${n === 1 ? '' : 's'}, last ${formatNumber(last[1])}` +
			(hasBand(last) ? ` (95% ${formatNumber(last[2])} to ${formatNumber(last[3])})` : '') + ` at ${opts.xLabel || 'x'} ${xFormat(last[0])}`
			: `${sr.name}, no points`;
	}).join('; ');
	const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'line-chart', role: 'img', 'aria-label': label, tabindex: 0 });
	for (const t of yt) {
		svg.append(s('line', { x1: left, x2: W - right, y1: py(t), y2: py(t), class: 'grid' }));
		svg.append(s('text', { x: left - 8, y: py(t) + 4, class: 'axis', 'text-anchor': 'end' }, formatNumber(t)));
	}
	for (const t of xt) {
		svg.append(s('line', { x1: px(t), x2: px(t), y1: top + innerH, y2: top + innerH + 5, class: 'tick' }));
		svg.append(s('text', { x: px(t), y: top + innerH + 18, class: 'axis', 'text-anchor': 'middle' }, xFormat(t)));
	}
	svg.append(s('line', { x1: left, x2: left, y1: top, y2: top + innerH, class: 'baseline' }));
	svg.append(s('line', { x1: left, x2: W - right, y1: top + innerH, y2: top + innerH, class: 'baseline' }));
	if (opts.xLabel)
		svg.append(s('text', { x: left + innerW / 2, y: H - 4, class: 'axis name', 'text-anchor': 'middle' }, opts.xLabel));

	const r2 = (v) => Math.round(v * 100) / 100;
	for (const sr of clean) {
		if (!sr.points.length) continue;
		const g = s('g', { class: `series ${sr.cls}`, 'data-series': sr.name });
		const banded = sr.points.filter(hasBand);
		if (banded.length >= 2)
			g.append(s('polygon', {
				points: [...banded.map(([x, , , hi]) => `${r2(px(x))},${r2(py(hi))}`),
					...[...banded].reverse().map(([x, , lo]) => `${r2(px(x))},${r2(py(lo))}`)].join(' '),
				class: 'band', 'data-series': sr.name,
			}));
		for (const [x, , lo, hi] of banded) {
			const X = r2(px(x)), cap = 4;
			const bar = s('g', { class: 'interval' });
			bar.append(s('line', { x1: X, x2: X, y1: r2(py(lo)), y2: r2(py(hi)), class: 'error-bar', 'data-x': x, 'data-lo': lo, 'data-hi': hi }));
			bar.append(s('line', { x1: X - cap, x2: X + cap, y1: r2(py(lo)), y2: r2(py(lo)), class: 'error-cap' }));
			bar.append(s('line', { x1: X - cap, x2: X + cap, y1: r2(py(hi)), y2: r2(py(hi)), class: 'error-cap' }));
			g.append(bar);
		}
		g.append(s('polyline', {
			points: sr.points.map(([x, y]) => `${r2(px(x))},${r2(py(y))}`).join(' '),
			class: 'line', 'data-series': sr.name,
		}));
		if (sr.points.length <= 60 || sr.points.length === 1)
			for (const [x, y] of sr.points) g.append(s('circle', { cx: r2(px(x)), cy: r2(py(y)), r: 2.6, class: 'marker' }));
		svg.append(g);
	}

	/* the read-out: a guide line, a dot per series, a box with the values */
	const xs = [...new Set(all.map((p) => p[0]))].sort((a, b) => a - b);
	const hover = s('g', { class: 'hover', display: 'none', 'aria-hidden': 'true' });
	const guide = s('line', { y1: top, y2: top + innerH, class: 'guide' });
	const dots = clean.map((sr) => s('circle', { r: 4, class: `dot ${sr.cls}` }));
	const box = s('rect', { class: 'tip', rx: 4 });
	const lines = [s('text', { class: 'tip-head' }), ...clean.map(() => s('text', { class: 'tip-text' }))];
	hover.append(guide, ...dots, box, ...lines);
	svg.append(hover);
	const hit = s('rect', { x: left, y: top, width: innerW, height: innerH, class: 'hit' });
	svg.append(hit);

	const show = (i) => {
		if (i === null || i === undefined || !xs.length) { hover.setAttribute('display', 'none'); delete svg.dataset.hoverX; return; }
		i = Math.max(0, Math.min(xs.length - 1, i));
		const x = xs[i], X = px(x);
		state.x = x;
		guide.setAttribute('x1', X); guide.setAttribute('x2', X);
		lines[0].textContent = `${opts.xLabel || 'x'} ${xFormat(x)}`;
		hover.setAttribute('display', 'inline');
		clean.forEach((sr, k) => {
			const pt = sr.points.find((p) => p[0] === x);
			dots[k].setAttribute('visibility', pt ? 'visible' : 'hidden');
			lines[k + 1].textContent = !pt ? '' : hasBand(pt) ? `${sr.name}: ${formatNumber(pt[1])} [${formatNumber(pt[2])}, ${formatNumber(pt[3])}]`
				: `${sr.name}: ${formatNumber(pt[1])}`;
			if (pt) { dots[k].setAttribute('cx', X); dots[k].setAttribute('cy', py(pt[1])); }
		});
		const rows = lines.filter((t) => t.textContent);
		const textW = (t) => { try { return t.getComputedTextLength() || t.textContent.length * 6.6; } catch (e) { return t.textContent.length * 6.6; } };
		const width = 14 + Math.max(...rows.map(textW));
		const height = 8 + rows.length * 15;
		const bx = X + 10 + width > W - right ? Math.max(2, X - 10 - width) : X + 10;
		box.setAttribute('x', bx); box.setAttribute('y', top + 2);
		box.setAttribute('width', width); box.setAttribute('height', height);
		let row = 0;
		for (const t of lines) {
			if (!t.textContent) { t.setAttribute('visibility', 'hidden'); continue; }
			t.setAttribute('visibility', 'visible');
			t.setAttribute('x', bx + 7); t.setAttribute('y', top + 17 + row * 15);
			row++;
		}
		svg.dataset.hoverX = String(x);
	};
	const nearest = (x) => {
		let best = 0;
		for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x)) best = i;
		return best;
	};
	let cur = null;
	svg.addEventListener('pointermove', (ev) => {
		const m = svg.getScreenCTM();
		if (!m) return;
		const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
		cur = nearest(xMin + ((p.x - left) / innerW) * (xMax - xMin));
		show(cur);
	});
	svg.addEventListener('pointerleave', () => { cur = null; state.x = null; show(null); });
	svg.addEventListener('keydown', (ev) => {
		const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
		if (!(ev.key in moves)) return;
		ev.preventDefault();
		const d = moves[ev.key];
		cur = cur === null ? (d < 0 ? xs.length - 1 : 0) : Number.isFinite(d) ? cur + d : d < 0 ? 0 : xs.length - 1;
		cur = Math.max(0, Math.min(xs.length - 1, cur));
		show(cur);
	});
	svg.addEventListener('blur', () => { cur = null; state.x = null; show(null); });
	if (state.x !== null && state.x !== undefined) { cur = nearest(state.x); show(cur); }

	fig.append(svg);
	if (clean.length > 1 || opts.legend) {
		const ul = document.createElement('ul');
		ul.className = 'legend';
		for (const sr of clean) {
			const li = document.createElement('li');
			const sw = document.createElement('span');
			sw.className = `swatch ${sr.cls}`;
			li.append(sw, document.createTextNode(sr.name));
			ul.append(li);
		}
		fig.append(ul);
	}
	return fig;
}

/* ---- paired bars ------------------------------------------------------------------------ */

/*
 * Draws items = [{ label, a, b, title, data }] as pairs of bars into a new
 * <figure> returned: for each item (in the order given) a bar for b (what it
 * is compared with, drawn first, class "pair-b") beside one for a (class
 * "pair-a"), a line joining their tops, the values above them and label
 * under them.  Each pair is a <g class="pair"> with data-* attributes from
 * item.data and a <title> of item.title (the tooltip; also read by screen
 * readers through the figure's accessible name).
 *   opts.title   figure caption and accessible name
 *   opts.aName / opts.bName   the legend's names for a and b
 *   opts.yMin / opts.yMax     the value axis (bars grow from yMin)
 */
export function pairChart(items, opts = {}) {
	const W = 520, H = 250, left = 56, right = 16, top = 18, bottom = 40;
	const innerW = W - left - right, innerH = H - top - bottom;
	const fig = document.createElement('figure');
	fig.className = 'line-figure pair-figure';
	if (opts.title) {
		const cap = document.createElement('figcaption');
		cap.textContent = opts.title;
		fig.append(cap);
	}
	const vals = items.flatMap((it) => [it.a, it.b]).filter(Number.isFinite);
	if (!vals.length) {
		const p = document.createElement('p');
		p.className = 'muted small';
		p.textContent = 'No values yet.';
		fig.append(p);
		return fig;
	}
	const yt = niceTicks(Math.min(opts.yMin ?? Infinity, ...vals), Math.max(opts.yMax ?? -Infinity, ...vals), 4);
	const y0 = yt[0], y1 = yt[yt.length - 1];
	const py = (y) => top + innerH - ((y - y0) / (y1 - y0)) * innerH;
	const r2 = (v) => Math.round(v * 100) / 100;
	const label = `${opts.title || 'Chart'}: ` + items.map((it) => it.title || `${it.label}: ${formatNumber(it.a)} vs ${formatNumber(it.b)}`).join('; ');
	const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'line-chart pair-chart', role: 'img', 'aria-label': label });
	for (const t of yt) {
		svg.append(s('line', { x1: left, x2: W - right, y1: py(t), y2: py(t), class: 'grid' }));
		svg.append(s('text', { x: left - 8, y: py(t) + 4, class: 'axis', 'text-anchor': 'end' }, formatNumber(t)));
	}
	svg.append(s('line', { x1: left, x2: left, y1: top, y2: top + innerH, class: 'baseline' }));
	svg.append(s('line', { x1: left, x2: W - right, y1: top + innerH, y2: top + innerH, class: 'baseline' }));
	const slot = innerW / items.length, barW = Math.min(28, slot * 0.3);
	items.forEach((it, i) => {
		const g = s('g', { class: 'pair', tabindex: 0 });
		for (const [k, v] of Object.entries(it.data || {})) g.setAttribute(`data-${k}`, String(v));
		if (it.title) g.append(s('title', {}, it.title));
		const mid = left + slot * i + slot / 2;
		const tops = [];
		[['b', it.b, mid - barW - 2], ['a', it.a, mid + 2]].forEach(([which, v, x]) => {
			if (!Number.isFinite(v)) return;
			const y = py(v), base = py(y0);
			g.append(s('rect', { x: r2(x), y: r2(y), width: r2(barW), height: r2(Math.max(base - y, 1)), rx: 2,
				class: `pair-${which} ${which === 'a' ? 'series-0' : 'series-1'}`, 'data-value': v }));
			g.append(s('text', { x: r2(x + barW / 2), y: r2(y - 5), class: 'value', 'text-anchor': 'middle' }, formatNumber(v)));
			tops.push([x + barW / 2, y]);
		});
		if (tops.length === 2)
			g.append(s('line', { x1: r2(tops[0][0]), y1: r2(tops[0][1]), x2: r2(tops[1][0]), y2: r2(tops[1][1]), class: 'pair-link' }));
		g.append(s('text', { x: r2(mid), y: top + innerH + 18, class: 'axis', 'text-anchor': 'middle' }, it.label));
		svg.append(g);
	});
	fig.append(svg);
	const ul = document.createElement('ul');
	ul.className = 'legend';
	for (const [name, cls] of [[opts.bName || 'b', 'series-1'], [opts.aName || 'a', 'series-0']]) {
		const li = document.createElement('li');
		const sw = document.createElement('span');
		sw.className = `swatch ${cls}`;
		li.append(sw, document.createTextNode(name));
		ul.append(li);
	}
	fig.append(ul);
	return fig;
}
