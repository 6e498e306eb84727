/*
 * web/js/chart.js — small SVG charts drawn with DOM calls (no library, no inline
 * style): a bar chart for the score histogram.  Colours come from CSS classes so
 * dark mode applies.
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
