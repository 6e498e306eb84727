// tests/tools/check_layers.test.mjs — `make check-layers` (tests/check_layers.sh)
// passes on the tree and fails, naming the file and the include, when a scratch
// copy of the tree gets one include that crosses a layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'tests', 'check_layers.sh');

function check(dir) {
	const r = spawnSync('bash', [script, dir], { encoding: 'utf8' });
	return { code: r.status, out: r.stdout + r.stderr };
}

// A scratch copy of model/ db/ server/ with one line added to file (after its
// first #include line).
function scratchWith(file, line) {
	const dir = mkdtempSync(join(tmpdir(), 'rlhfd-layers-'));
	for (const d of ['model', 'db', 'server']) cpSync(join(root, d), join(dir, d), { recursive: true });
	const p = join(dir, file);
	const src = readFileSync(p, 'utf8');
	const at = src.indexOf('#include');
	assert.ok(at >= 0, `${file} has an #include`);
	writeFileSync(p, src.slice(0, at) + line + '\n' + src.slice(at));
	return dir;
}

test('the tree as it is passes', () => {
	const r = check(root);
	assert.equal(r.code, 0, r.out);
	assert.match(r.out, /no include crosses a layer/);
});

const crossings = [
	['model/llama.c', '#include "db/db.h"'],                       // model uses the database
	['db/db.c', '#include "model/llama.h"'],                       // db uses the math
	['db/jobs.c', '#include "server/worker/worker.h"'],            // db reaches up
	['server/worker/job.c', '#include "server/http/http.h"'],      // the worker knows HTTP
	['server/http/api_jobs.c', '#include "server/worker/job_impl.h"'], // http reads worker internals
	['server/http/api_jobs.c', '#include "server/worker/gen.h"'],  // only worker.h is open to http
	['server/demo/demo_model.c', '#include "server/worker/job.h"'],    // demo reads worker internals
	['server/cli/cli_serve.c', '#include "server/http/api.h"'],    // cli reads the handlers' header
	['server/demo/rubric.c', '#include "server/cli/cli.h"'],       // demo depends on the CLI
];

for (const [file, line] of crossings) {
	test(`fails on ${file}: ${line}`, () => {
		const dir = scratchWith(file, line);
		try {
			const r = check(dir);
			assert.equal(r.code, 1, r.out);
			const inc = line.match(/"(.*)"/)[1];
			assert.match(r.out, new RegExp(`${file}:\\d+: includes "${inc}"`));
			assert.match(r.out, /FAILED/);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
}

test('make check-layers runs the check', () => {
	const out = execFileSync('make', ['--no-print-directory', '-s', 'check-layers'], { cwd: root, encoding: 'utf8' });
	assert.match(out, /no include crosses a layer/);
});
