/*
 * tests/api/rubric_rate.test.mjs — `rlhfd rubric-rate` against the real
 * server: an unknown --taste exits 2 naming the known tastes and rates
 * nothing; two raters with other tastes (default and thorough) rating at the
 * same time share the waiting groups without rating any twice (leases keep
 * a group one rater's while ratings_per_group is 1), each with its own
 * scores, worked out by hand from the ladder and the two tastes in
 * server/demo/rubric.h.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BIN, ROOT, startServer } from '../lib/server.mjs';
import { createRater, exportedRatings, importGroup } from '../lib/fixtures.mjs';
import { rubricRate } from '../lib/e2e.mjs';

/* Runs rlhfd with args: { code, stdout, stderr }, whatever the exit code. */
function runCode(args) {
	return new Promise((resolve) => {
		execFile(BIN, args, { cwd: ROOT }, (err, stdout, stderr) =>
			resolve({ code: err ? err.code : 0, stdout, stderr }));
	});
}

/* [country, capital, a big city that is not the capital] */
const CAPITALS = [
	['France', 'Paris', 'Lyon'], ['Germany', 'Berlin', 'Munich'], ['Italy', 'Rome', 'Milan'],
	['Spain', 'Madrid', 'Barcelona'], ['Japan', 'Tokyo', 'Osaka'], ['Poland', 'Warsaw', 'Krakow'],
	['Portugal', 'Lisbon', 'Porto'], ['Egypt', 'Cairo', 'Alexandria'], ['Turkey', 'Ankara', 'Istanbul'],
	['Canada', 'Ottawa', 'Toronto'],
];
const EXTRA = ' It is a beautiful city with many museums.';

/*
 * What each taste gives the three answers of a group (rubric.h): the bare
 * right answer is "right answer" (default 5, thorough 4); with a sentence
 * more it is "right answer with extra text" (4, 5); a big city that is not
 * the capital is "a wrong capital" (1 for both).
 */
const EXPECTED = {
	default: { bare: 5, extra: 4, wrong: 1 },
	thorough: { bare: 4, extra: 5, wrong: 1 },
};

async function importCapitals(srv) {
	const groups = [];
	for (const [country, capital, wrong] of CAPITALS)
		groups.push(await importGroup(srv, `What is the capital of ${country}?`,
			[`${capital}.`, `${capital}.${EXTRA}`, `${wrong}.`]));
	return groups;
}

test('an unknown taste exits 2, names the known ones and rates nothing', async () => {
	const srv = await startServer();
	try {
		const rater = await createRater(srv, 'rubric');
		await importCapitals(srv);
		const r = await runCode(['rubric-rate', '--url', srv.url, '--token', rater.token, '--taste', 'nosuch']);
		assert.equal(r.code, 2, `exit code: ${r.code}\n${r.stdout}\n${r.stderr}`);
		assert.match(r.stderr, /unknown taste 'nosuch': known tastes are default, thorough/);
		assert.equal((await exportedRatings(srv)).length, 0, 'no rating saved');
	} finally {
		await srv.stop();
	}
});

test('two raters of other tastes rating at once share the groups, each group rated once, in its rater\'s taste',
	async (tc) => {
		const srv = await startServer();
		try {
			const ann = await createRater(srv, 'ann');
			const tom = await createRater(srv, 'tom');
			const groups = await importCapitals(srv);
			const [a, t] = await Promise.all([
				rubricRate(srv, ann.token, { taste: 'default' }),
				rubricRate(srv, tom.token, { taste: 'thorough' }),
			]);
			tc.diagnostic(`ann (default) rated ${a.tasks} groups, tom (thorough) ${t.tasks}`);
			/* ratings_per_group 1: every group to one rater, none twice */
			assert.equal(a.tasks + t.tasks, groups.length, `ann ${a.tasks} + tom ${t.tasks} tasks`);
			assert.equal(a.ratings + t.ratings, 3 * groups.length);
			const rows = await exportedRatings(srv);
			assert.equal(rows.length, 3 * groups.length, 'one rating per answer');
			const raterOf = new Map();
			for (const row of rows) {
				const seen = raterOf.get(row.group_id);
				assert.ok(!seen || seen === row.rater, `group ${row.group_id} rated by ${seen} and ${row.rater}`);
				raterOf.set(row.group_id, row.rater);
				const g = groups.find((x) => x.groupId === row.group_id);
				assert.ok(g, `a rating of group ${row.group_id}, not one of ours`);
				const kind = ['bare', 'extra', 'wrong'][g.responseIds.indexOf(row.response_id)];
				const want = EXPECTED[row.rater === 'tom' ? 'thorough' : 'default'][kind];
				assert.equal(row.score, want, `${row.rater} on "${row.response}" (${g.prompt})`);
			}
			assert.equal([...raterOf.values()].filter((x) => x === 'ann').length, a.tasks);
			assert.equal([...raterOf.values()].filter((x) => x === 'tom').length, t.tasks);
		} finally {
			await srv.stop();
		}
	});
