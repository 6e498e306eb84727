/*
 * tests/bench/loop_summary.mjs — `make bench-loop`'s summary over seeds: for
 * each seed's run (build/bench/loop-seed<N>.log and dev-seed<N>.log, written by
 * tests/bench/loop.sh) the final active model's rise over the SFT model on
 * eval parts a and b, the latest reward model's accuracy held out by prompt
 * (cross-validated over every rated prompt, and on the job's held-out split), the
 * development split's rise (all: its parts a and b; c: items the SFT set
 * taught, tests/bench/dev.mjs) and the slowest round of the loop; then over
 * the runs the mean of each with its 95 % Student t interval, and how many
 * runs reach the floors (part a +0.6, part b +0.25, reward model
 * 0.72); then how many runs clear each floor by more than their own noise:
 * the 95 % lower bound on the eval's own prompts (the sampler's noise,
 * learning.test.mjs pairedRise) and paired by prompt (other prompts like
 * these), and the reward model's clustered by prompt.  One run's own
 * intervals say how sure that run is; the spread over runs says how much a
 * run depends on its seed and the raters' timing — both are needed to call
 * a floor passed.
 *
 *   node tests/bench/loop_summary.mjs SEED...
 *
 * Exit status 0; a seed whose log lacks a figure is listed with "-".
 */
import { readFileSync, existsSync } from 'node:fs';

/* the 0.975 quantile of Student's t with df = 1..30 degrees of freedom */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
	2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
	2.045, 2.042];
const FLOORS = { a: 0.6, b: 0.25, rm: 0.72, split: 0.72 };

function read(file) {
	return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function num(re, text) {
	const m = re.exec(text);
	return m ? Number(m[1]) : NaN;
}

/* The figures of one seed's run, NaN where its logs lack them. */
function run(seed) {
	const log = read(`build/bench/loop-seed${seed}.log`), dev = read(`build/bench/dev-seed${seed}.log`);
	/* the line of the final active model's rise (learning.test.mjs pairedRise) */
	const rise = (/rise of the final active model[^\n]*/.exec(log) || [''])[0];
	const loops = [...log.matchAll(/round \d+: .*; loop ([0-9.]+) s \(/g)].map((m) => Number(m[1]));
	return {
		seed,
		a: num(/part a ([+-][0-9.]+)/, rise),
		b: num(/part b ([+-][0-9.]+)/, rise),
		/* the half-widths of the two intervals (learning.test.mjs pairedRise) */
		aHalf: num(/part a [+-][0-9.]+ ± ([0-9.]+)/, rise),
		bHalf: num(/part b [+-][0-9.]+ ± ([0-9.]+)/, rise),
		aFixed: num(/part a [^;]*; ± ([0-9.]+) on these prompts/, rise),
		bFixed: num(/part b [^;]*; ± ([0-9.]+) on these prompts/, rise),
		rm: num(/latest reward model \d+ cross-validated acc ([0-9.]+)/, log),
		split: num(/latest reward model \d+ cross-validated acc [^\n]*held-out split ([0-9.]+)/, log),
		/* the latest reward model's interval clustered by prompt (the last round's) */
		rmLo: Number(([...log.matchAll(/cross-validated [0-9.]+ \[([0-9.]+), [0-9.]+\]/g)].pop() || [])[1] ?? NaN),
		/* the active model's row of the dev table (marked *): its change over all prompts */
		dev: num(/^\s+\d+\s+\w+\*\s.*?\s([+-][0-9.]+) ± [0-9.]+ \/ /m, dev),
		/* its change on dev part c, items the SFT set taught (the row's last) */
		devC: num(/^\s+\d+\s+\w+\*\s.*? ± [0-9.]+ \/ [+-][0-9.]+ ± [0-9.]+ \/ [+-][0-9.]+ ± [0-9.]+ \/ ([+-][0-9.]+) ± [0-9.]+\s*$/m, dev),
		loop: loops.length ? Math.max(...loops) : NaN,
	};
}

/* mean and 95 % t interval of the finite values of xs */
function summary(xs) {
	const v = xs.filter(Number.isFinite), n = v.length;
	if (!n) return { n, mean: NaN, lo: NaN, hi: NaN };
	const mean = v.reduce((s, x) => s + x, 0) / n;
	if (n < 2) return { n, mean, lo: NaN, hi: NaN };
	const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
	const h = T975[Math.min(n - 1, T975.length) - 1] * sd / Math.sqrt(n);
	return { n, mean, lo: mean - h, hi: mean + h };
}

const f = (x, sign) => (Number.isFinite(x) ? (sign && x >= 0 ? '+' : '') + x.toFixed(3) : '-');
const seeds = process.argv.slice(2);
if (!seeds.length) {
	console.error('usage: node tests/bench/loop_summary.mjs SEED...');
	process.exit(2);
}
const runs = seeds.map(run);
console.log(`== over seeds ${seeds.join(' ')}: the final active model's rise over the SFT model (eval parts a, b), ` +
	'the latest reward model\'s accuracy (cross-validated; on its held-out split), the development split\'s rise (all prompts), ' +
	'the slowest loop round');
console.log('seed    part_a   part_b    rm_cv  rm_split   dev_all  dev_c  loop_max_s');
for (const r of runs)
	console.log(`${String(r.seed).padStart(4)}  ${f(r.a, 1).padStart(7)}  ${f(r.b, 1).padStart(7)}  ${f(r.rm).padStart(7)}  ` +
		`${f(r.split).padStart(8)}  ` +
		`${f(r.dev, 1).padStart(8)}  ${f(r.devC, 1).padStart(6)}  ${Number.isFinite(r.loop) ? r.loop.toFixed(1).padStart(10) : '         -'}`);
for (const [key, name, sign] of [['a', 'part a', 1], ['b', 'part b', 1], ['rm', 'reward model (cross-validated)', 0],
	['split', 'reward model (held-out split)', 0], ['dev', 'dev all', 1],
	['devC', 'dev c (items the SFT set taught)', 1]]) {
	const s = summary(runs.map((r) => r[key]));
	const floor = FLOORS[key];
	let line = `${name}: mean ${f(s.mean, sign)}, 95 % t interval over ${s.n} runs [${f(s.lo, sign)}, ${f(s.hi, sign)}]`;
	if (floor !== undefined) {
		const at = runs.filter((r) => r[key] >= floor).length;
		line += `; floor ${floor}: ${at} of ${s.n} runs at or above it, ` +
			(s.lo > floor ? 'the interval above it' : 'the interval not above it');
	}
	console.log(line);
}
/* each run's own lower bounds against the floors: on the eval's own prompts
 * (the sampler's noise), and paired by prompt (prompts like these) */
const lows = [['a', 'part a', 'aFixed', 'aHalf'], ['b', 'part b', 'bFixed', 'bHalf']];
for (const [key, name, fixed, half] of lows) {
	const n = runs.filter((r) => Number.isFinite(r[key])).length;
	const onThese = runs.filter((r) => r[key] - r[fixed] > FLOORS[key]).length;
	const like = runs.filter((r) => r[key] - r[half] > FLOORS[key]).length;
	console.log(`${name}: each run's 95 % lower bound above the floor ${FLOORS[key]}: on the eval's prompts in ` +
		`${onThese} of ${n} runs (lowest ${f(Math.min(...runs.map((r) => r[key] - r[fixed])), 1)}); ` +
		`paired by prompt in ${like} of ${n} (lowest ${f(Math.min(...runs.map((r) => r[key] - r[half])), 1)})`);
}
{
	const n = runs.filter((r) => Number.isFinite(r.rmLo)).length;
	console.log(`reward model: each run's 95 % lower bound (clustered by prompt) above ${FLOORS.rm} in ` +
		`${runs.filter((r) => r.rmLo > FLOORS.rm).length} of ${n} runs (lowest ${f(Math.min(...runs.map((r) => r.rmLo)))})`);
}
const timed = runs.filter((r) => Number.isFinite(r.loop));
console.log(`a loop round over 60 s: in ${timed.filter((r) => r.loop > 60).length} of ${timed.length} runs`);
