/*
 * tests/api/stats.test.mjs — Krippendorff's alpha (interval) on a dataset small
 * enough to compute by hand, and the Prometheus text format of /metrics.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { createRater, importGroup } from '../lib/fixtures.mjs';

/*
 * The dataset: units are answers, values are the raters' scores.
 *
 *   group G1: r1 = ann 5, bob 5, cy 4      r2 = ann 1, bob 2, cy 1
 *   group G2: r3 = ann 3, bob 3            r4 = ann 2, bob 4
 *   group G3: r5 = ann 4                   r6 = ann 1          (one rater: not pairable)
 *
 * Krippendorff's alpha, interval metric δ(c,k)² = (c − k)²; only units with ≥ 2
 * values count, n = number of pairable values = 3 + 3 + 2 + 2 = 10.
 *
 * Observed disagreement D_o = (1/n) Σ_u 1/(m_u − 1) Σ_{i≠j in u} (v_i − v_j)²
 *   (ordered pairs):
 *   r1 {5,5,4}: pairs (5,4)×2 and (4,5)×2 → 4·1 = 4, / (3−1) = 2
 *   r2 {1,2,1}: likewise                  → 4,     / 2     = 2
 *   r3 {3,3}:                              → 0
 *   r4 {2,4}: (2,4),(4,2)                  → 8,     / (2−1) = 8
 *   D_o = (2 + 2 + 0 + 8) / 10 = 1.2
 *
 * Expected disagreement D_e = 1/(n(n−1)) Σ_{i≠j over all 10 values} (v_i − v_j)²,
 *   with Σ_{i≠j} (v_i − v_j)² = 2 n Σv² − 2 (Σv)²:
 *   values 5,5,4,1,2,1,3,3,2,4: Σv = 30, Σv² = 25+25+16+1+4+1+9+9+4+16 = 110
 *   Σ = 2·10·110 − 2·30² = 2200 − 1800 = 400;  D_e = 400 / 90 = 4.444…
 *
 * alpha = 1 − D_o / D_e = 1 − 1.2 · 90 / 400 = 1 − 0.27 = 0.73
 * Groups rated by ≥ 2 raters: G1 and G2 → 2.
 */
const ALPHA = 0.73;

test("agreement: Krippendorff's alpha (interval) equals the hand computation", async () => {
	const srv = await startServer();
	try {
		const [ann, bob, cy] = [await createRater(srv, 'ann'), await createRater(srv, 'bob'), await createRater(srv, 'cy')];
		const G1 = await importGroup(srv, 'g1', ['r1', 'r2']);
		const G2 = await importGroup(srv, 'g2', ['r3', 'r4']);
		const G3 = await importGroup(srv, 'g3', ['r5', 'r6']);

		const empty = (await srv.admin.get('/api/stats')).json.agreement;
		assert.equal(empty.alpha, null, 'no pairable ratings → alpha null');
		assert.equal(empty.groups, 0);

		const rate = async (who, G, scores) => {
			const r = await who.client.post('/api/ratings', { group_id: G.groupId, ratings: scores.map((s, i) => ({ response_id: G.responseIds[i], score: s })) });
			assert.equal(r.status, 201, r.text);
		};
		await rate(ann, G1, [5, 1]); await rate(bob, G1, [5, 2]); await rate(cy, G1, [4, 1]);
		await rate(ann, G2, [3, 2]); await rate(bob, G2, [3, 4]);
		await rate(ann, G3, [4, 1]);

		const st = (await srv.admin.get('/api/stats')).json;
		assert.ok(Math.abs(st.agreement.alpha - ALPHA) < 1e-9, `alpha ${st.agreement.alpha}, expected ${ALPHA}`);
		assert.equal(st.agreement.groups, 2);
		assert.ok(Number.isInteger(st.agreement.pairs) && st.agreement.pairs > 0, `pairs ${st.agreement.pairs}`);

		// Re-rating replaces: bob's r4 4 → 2 makes r4 {2,2}. By hand: D_o = (2+2+0+0)/10 = 0.4;
		// values 5,5,4,1,2,1,3,3,2,2: Σv = 28, Σv² = 98, Σ = 2·10·98 − 2·784 = 392, D_e = 392/90;
		// alpha = 1 − 0.4·90/392 = 1 − 36/392 = 0.908163…
		await rate(bob, G2, [3, 2]);
		const st2 = (await srv.admin.get('/api/stats')).json;
		assert.ok(Math.abs(st2.agreement.alpha - (1 - 36 / 392)) < 1e-9, `alpha after re-rating ${st2.agreement.alpha}`);
	} finally { await srv.stop(); }
});

/* Parses the Prometheus text exposition format strictly enough to catch mistakes. */
function parseMetrics(text) {
	const types = new Map(), samples = [];
	for (const line of text.split('\n')) {
		if (line === '') continue;
		let m;
		if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) { types.set(m[1], m[2]); continue; }
		if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
		if (line.startsWith('#')) continue;
		m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$/.exec(line);
		assert.ok(m, `bad metrics line: '${line}'`);
		const labels = {};
		if (m[3]) {
			const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
			let lm, consumed = 0;
			while ((lm = re.exec(m[3]))) { labels[lm[1]] = lm[2]; consumed += lm[0].length; }
			assert.equal(consumed, m[3].length, `bad labels in '${line}'`);
		}
		samples.push({ name: m[1], labels, value: Number(m[4].replace('+Inf', 'Infinity')) });
	}
	return { types, samples };
}

test('/metrics: Prometheus text format, request counters, ratings counter, latency histogram', async () => {
	const srv = await startServer();
	try {
		const ann = await createRater(srv, 'ann');
		const G = await importGroup(srv, 'm', ['a', 'b', 'c']);
		const res0 = await fetch(srv.url + '/metrics');
		assert.equal(res0.status, 200);
		assert.match(res0.headers.get('content-type') || '', /^text\/plain/);
		const m0 = parseMetrics(await res0.text());
		const count = (m, name, labels = {}) => m.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

		for (let i = 0; i < 7; i++) assert.equal((await srv.client(null).get('/healthz')).status, 200);
		for (let i = 0; i < 3; i++) assert.equal((await srv.client('nope').get('/api/me')).status, 401);
		const r = await ann.client.post('/api/ratings', { group_id: G.groupId, ratings: G.responseIds.map((id) => ({ response_id: id, score: 3 })) });
		assert.equal(r.status, 201);

		const m1 = parseMetrics(await (await fetch(srv.url + '/metrics')).text());
		assert.equal(m1.types.get('rlhfd_http_requests_total'), 'counter');
		assert.equal(m1.types.get('rlhfd_ratings_total'), 'counter');
		assert.equal(m1.types.get('rlhfd_http_request_duration_seconds'), 'histogram');
		for (const s of m1.samples.filter((x) => x.name === 'rlhfd_http_requests_total')) {
			assert.ok('method' in s.labels && 'code' in s.labels, `labels of ${JSON.stringify(s)}`);
			assert.match(s.labels.code, /^[1-5][0-9][0-9]$/);
		}
		assert.ok(count(m1, 'rlhfd_http_requests_total', { method: 'GET', code: '200' }) - count(m0, 'rlhfd_http_requests_total', { method: 'GET', code: '200' }) >= 8, 'GET 200 counted (7 healthz + 1 metrics)');
		assert.ok(count(m1, 'rlhfd_http_requests_total', { method: 'GET', code: '401' }) - count(m0, 'rlhfd_http_requests_total', { method: 'GET', code: '401' }) === 3, '401s counted');
		assert.ok(count(m1, 'rlhfd_http_requests_total', { method: 'POST', code: '201' }) >= 1);
		assert.equal(count(m1, 'rlhfd_ratings_total') - count(m0, 'rlhfd_ratings_total'), 3, 'three ratings stored');

		// Histogram: cumulative buckets (le ascending, counts non-decreasing), +Inf = _count, _sum ≥ 0.
		const buckets = m1.samples.filter((s) => s.name === 'rlhfd_http_request_duration_seconds_bucket');
		assert.ok(buckets.length >= 3, 'several buckets');
		const series = new Map();
		for (const b of buckets) {
			const { le, ...rest } = b.labels;
			assert.ok(le !== undefined, 'bucket has le');
			const k = JSON.stringify(rest);
			if (!series.has(k)) series.set(k, []);
			series.get(k).push({ le: le === '+Inf' ? Infinity : Number(le), v: b.value });
		}
		for (const [k, bs] of series) {
			for (let i = 1; i < bs.length; i++) {
				assert.ok(bs[i].le > bs[i - 1].le, `le ascending in ${k}`);
				assert.ok(bs[i].v >= bs[i - 1].v, `cumulative counts in ${k}`);
			}
			assert.equal(bs[bs.length - 1].le, Infinity, `+Inf bucket last in ${k}`);
			const labels = JSON.parse(k);
			const cnt = m1.samples.find((s) => s.name === 'rlhfd_http_request_duration_seconds_count' && JSON.stringify(s.labels) === k);
			const sum = m1.samples.find((s) => s.name === 'rlhfd_http_request_duration_seconds_sum' && JSON.stringify(s.labels) === k);
			assert.ok(cnt && sum, `_count and _sum for ${JSON.stringify(labels)}`);
			assert.equal(cnt.value, bs[bs.length - 1].v);
			assert.ok(sum.value >= 0);
		}
		const total = m1.samples.filter((s) => s.name === 'rlhfd_http_request_duration_seconds_count').reduce((a, s) => a + s.value, 0);
		assert.ok(total >= 12, `histogram counts requests (${total})`);
	} finally { await srv.stop(); }
});
