// tests/tools/run_sh.test.mjs — tests/run.sh and tests/test.h cannot hide a
// failure: a hung suite is killed and counted, skips are counted in the closing
// line, a suite with no count line fails, a filter matching nothing fails, a
// failed REQUIRE fails its test, and under CI a skip for a dependency that
// `make deps-test` installs is a failure.  Each case runs run.sh in a scratch
// tree whose build/tests/ holds small stand-in suites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/* A scratch tree with tests/run.sh and the given stand-in suites
 * (name → shell script body) in build/tests/. */
function scratch(suites) {
	const dir = mkdtempSync(join(tmpdir(), 'rlhfd-runsh-'));
	mkdirSync(join(dir, 'tests'), { recursive: true });
	mkdirSync(join(dir, 'build', 'tests'), { recursive: true });
	copyFileSync(join(root, 'tests', 'run.sh'), join(dir, 'tests', 'run.sh'));
	for (const [name, body] of Object.entries(suites)) {
		const p = join(dir, 'build', 'tests', name);
		writeFileSync(p, '#!/bin/sh\n' + body + '\n');
		chmodSync(p, 0o755);
	}
	return dir;
}

function run(dir, env = {}) {
	const r = spawnSync('bash', [join(dir, 'tests', 'run.sh')], {
		encoding: 'utf8', env: { ...process.env, CI: '', TESTS: 'unit', TEST_FILTER: '', TEST_TIMEOUT: '', ...env }, timeout: 60000,
	});
	const lines = r.stdout.trim().split('\n');
	return { code: r.status, out: r.stdout + r.stderr, last: lines[lines.length - 1] };
}

test('a hung suite is killed after TEST_TIMEOUT and counted as a failure', () => {
	const dir = scratch({ test_ok: 'echo "ok   a"; echo "1 passed, 0 failed, 0 skipped"', test_hang: 'sleep 60' });
	try {
		const t0 = Date.now();
		const r = run(dir, { TEST_TIMEOUT: '2' });
		assert.ok(Date.now() - t0 < 30000, 'run.sh waited for the hung suite');
		assert.notEqual(r.code, 0);
		assert.match(r.out, /test_hang: killed after its time limit/);
		assert.equal(r.last, '1 passed, 1 failed, 0 skipped');
	} finally { rmSync(dir, { recursive: true, force: true }); }
});

test('skips are counted in the closing line', () => {
	const dir = scratch({ test_a: 'echo "skip x: no input"; echo "2 passed, 0 failed, 1 skipped"', test_b: 'echo "3 passed, 0 failed, 2 skipped"' });
	try {
		const r = run(dir);
		assert.equal(r.code, 0, r.out);
		assert.equal(r.last, '5 passed, 0 failed, 3 skipped');
	} finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a suite that exits 0 without its count line is a failure', () => {
	const dir = scratch({ test_silent: 'echo "all good, trust me"; exit 0' });
	try {
		const r = run(dir);
		assert.notEqual(r.code, 0);
		assert.equal(r.last, '0 passed, 1 failed, 0 skipped');
	} finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a TEST_FILTER that matches nothing is an error, not "0 passed, 0 failed"', () => {
	const dir = scratch({ test_a: 'echo "1 passed, 0 failed, 0 skipped"' });
	try {
		const r = run(dir, { TEST_FILTER: 'no-such-suite' });
		assert.notEqual(r.code, 0);
		assert.match(r.out, /no test suite matched/);
		assert.equal(r.last, '0 passed, 1 failed, 0 skipped');
	} finally { rmSync(dir, { recursive: true, force: true }); }
});

test('an argument is an error that says how to choose suites, not a run of everything', () => {
	const dir = scratch({ test_a: 'echo "1 passed, 0 failed, 0 skipped"' });
	try {
		const r = spawnSync('bash', [join(dir, 'tests', 'run.sh'), 'exports'], { encoding: 'utf8', env: { ...process.env, CI: '' } });
		assert.equal(r.status, 2);
		assert.match(r.stderr, /takes no arguments \(got: exports\); choose with TESTS=.* and TEST_FILTER=substr/);
		assert.equal(r.stdout, '', 'nothing ran');
	} finally { rmSync(dir, { recursive: true, force: true }); }
});

/* Compiles a C test against tests/test.h and runs it. */
function cTest(src, env = {}) {
	const dir = mkdtempSync(join(tmpdir(), 'rlhfd-testh-'));
	try {
		writeFileSync(join(dir, 't.c'), src);
		execFileSync('cc', ['-std=c11', '-I', root, '-o', join(dir, 't'), join(dir, 't.c'), '-lm']);
		const r = spawnSync(join(dir, 't'), [], { encoding: 'utf8', env: { ...process.env, ...env } });
		return { code: r.status, out: r.stdout };
	} finally { rmSync(dir, { recursive: true, force: true }); }
}

test('a failed REQUIRE ends its test as failed (a failed set-up never passes)', () => {
	const r = cTest(`#include "tests/test.h"
static int reached;
static void test_setup_fails(void) { REQUIRE(1 == 2); reached = 1; }
static void test_fine(void) { CHECK(reached == 0); }
int main(void) { RUN(test_setup_fails); RUN(test_fine); TEST_MAIN_END(); }
`);
	assert.equal(r.code, 1);
	assert.match(r.out, /FAIL test_setup_fails/);
	assert.match(r.out, /ok   test_fine/);
	assert.match(r.out, /^1 passed, 1 failed, 0 skipped$/m);
});

test('under CI a skip for a deps-test dependency is a failure; elsewhere it is a skip', () => {
	const src = `#include "tests/test.h"
static void test_needs_vocab(void) { CHECK(0); }
int main(void) { TEST_SKIP_DEP(test_needs_vocab, "no vocabulary"); TEST_SKIP(test_optional, "no input"); TEST_MAIN_END(); }
`;
	const local = cTest(src, { CI: '' });
	assert.equal(local.code, 0);
	assert.match(local.out, /^0 passed, 0 failed, 2 skipped$/m);
	const ci = cTest(src, { CI: 'true' });
	assert.equal(ci.code, 1);
	assert.match(ci.out, /FAIL test_needs_vocab: skipped under CI/);
	assert.match(ci.out, /^0 passed, 1 failed, 1 skipped$/m);
});
