/*
 * tests/lib/rawhttp.mjs — HTTP/1.1 over a plain socket, for requests fetch()
 * will not send as written: chunked bodies of a chosen size, lying
 * Content-Length, unnormalised paths ("/../x").  The server may answer early
 * and close (e.g. 413 before the body is read): writes then stop quietly and
 * whatever response arrived is parsed.
 */
import net from 'node:net';

function parseResponse(buf) {
	const s = buf.toString('latin1');
	const end = s.indexOf('\r\n\r\n');
	if (end < 0) return null;
	const lines = s.slice(0, end).split('\r\n');
	const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
	if (!m) return null;
	const headers = {};
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
	}
	let rest = buf.subarray(Buffer.byteLength(s.slice(0, end + 4), 'latin1'));
	let body;
	if (/chunked/i.test(headers['transfer-encoding'] || '')) {
		const parts = [];
		let off = 0;
		for (;;) {
			const nl = rest.indexOf('\r\n', off);
			if (nl < 0) return null;
			const size = parseInt(rest.subarray(off, nl).toString(), 16);
			if (Number.isNaN(size)) return null;
			if (size === 0) break;
			if (rest.length < nl + 2 + size) return null;
			parts.push(rest.subarray(nl + 2, nl + 2 + size));
			off = nl + 2 + size + 2;
		}
		body = Buffer.concat(parts);
	} else if (headers['content-length'] !== undefined) {
		const n = Number(headers['content-length']);
		if (rest.length < n) return null;
		body = rest.subarray(0, n);
	} else {
		body = rest; // until close
	}
	const text = body.toString('utf8');
	let json = null;
	try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
	return { status: Number(m[1]), headers: { get: (k) => headers[k.toLowerCase()] ?? null, raw: headers }, text, json };
}

/*
 * Sends head (request line + headers, without the final blank line; CRLFs
 * added) and then each body chunk in turn.  Resolves to the parsed response
 * { status, headers, text, json, writeError }.
 */
export function rawRequest(port, head, chunks = [], { timeoutMs = 10000 } = {}) {
	return new Promise((resolve, reject) => {
		const sock = net.connect(port, '127.0.0.1');
		const got = [];
		let writeError = null, done = false;
		const finish = (err) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			sock.destroy();
			const r = parseResponse(Buffer.concat(got));
			if (r) resolve({ ...r, writeError });
			else reject(err || new Error(`no complete HTTP response (${Buffer.concat(got).length} bytes): ${Buffer.concat(got).toString('latin1').slice(0, 200)}`));
		};
		const timer = setTimeout(() => finish(new Error('raw request timed out')), timeoutMs);
		sock.on('data', (d) => {
			got.push(d);
			const r = parseResponse(Buffer.concat(got));
			if (r && (r.headers.get('content-length') !== null || /chunked/i.test(r.headers.get('transfer-encoding') || ''))) finish();
		});
		sock.on('error', (e) => { writeError = e; if (got.length) finish(); else if (e.code !== 'EPIPE') finish(e); });
		sock.on('close', () => finish());
		sock.on('connect', async () => {
			const header = head.split('\n').map((l) => l.replace(/\r$/, '')).join('\r\n') + '\r\n\r\n';
			sock.write(header);
			for (const c of chunks) {
				if (done || sock.destroyed) break;
				const ok = sock.write(c);
				if (!ok) await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
			}
		});
	});
}

/* Encodes one chunk of a chunked body. */
export function chunk(buf) {
	const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf);
	return Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
}
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');
