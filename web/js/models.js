/*
 * web/js/models.js — the admin page's Models panel: every model version
 * (GET /api/models) with its kind, parent, the job that made it, its key
 * figures (held-out accuracy for reward models; eval reward mean, KL and win
 * rate for generating ones; the members of a best policy's soup), the active badge, Activate / Roll back (POST
 * /api/models/{id}/activate, generating kinds only) and Evaluate (an eval job);
 * line charts of the eval figures across versions; and the learning curve by
 * people: each version's mean human score beside its parent's on the prompts
 * both have rated answers on (the versions' "human" field); the spot checks
 * and the hacking badge come from js/spotcheck.js.
 */
import { api, el, showError } from './api.js';
import { lineChart, pairChart } from './chart.js';
import { formatNumber, formatTime } from './format.js';
import { spotCheckBlock, hackingRollback } from './spotcheck.js';

const $ = (id) => document.getElementById(id);
const GENERATES = ['base', 'sft', 'policy'];
const chartState = { figures: {}, kl: {}, acc: {} };
const HUMAN_PAIRS = 12;   /* the newest versions the human chart has room for */

/* The figures worth a glance, as [label, value] pairs. */
function keyFigures(m) {
	const x = m.metrics || {};
	const out = [];
	if (m.kind === 'reward') {
		if (typeof x.heldout_acc === 'number') out.push(['held-out acc', x.heldout_acc]);
		if (typeof x.heldout_lo === 'number') out.push(['95% from', x.heldout_lo]);
		if (typeof x.heldout_pairs === 'number') out.push(['pairs', x.heldout_pairs]);
		/* every rated prompt held out once: the steadier figure */
		if (typeof x.cv_acc === 'number') out.push(['cross-validated', x.cv_acc]);
		if (typeof x.cv_lo === 'number') out.push(['its 95% from', x.cv_lo]);
	}
	const ev = x.eval;
	if (ev && typeof ev === 'object') {
		if (typeof ev.reward_mean === 'number') out.push(['reward', ev.reward_mean]);
		if (typeof ev.kl === 'number') out.push(['KL', ev.kl]);
		if (typeof ev.win_rate === 'number') out.push(['win rate', ev.win_rate]);
	} else if (GENERATES.includes(m.kind)) {
		if (typeof x.reward_last === 'number') out.push(['train reward', x.reward_last]);
		else if (typeof x.reward_acc === 'number') out.push(['pref acc', x.reward_acc]);
		else if (typeof x.loss === 'number') out.push(['loss', x.loss]);
	}
	/* a best policy averaged with earlier rounds' (metrics.soup) */
	if (x.soup && x.soup.members > 1) out.push(['soup of', x.soup.members]);
	return out;
}

/* What the gates decided about a version, in a sentence: the promotion gate
 * (metrics.promotion) and people's verdict (metrics.rollback, or
 * metrics.verdict for a candidate people promoted or, at their final look,
 * kept); null when none applies. */
function verdict(m) {
	const x = m.metrics || {};
	if (hackingRollback(x.rollback)) return hackingRollback(x.rollback);
	if (x.rollback)
		return `Rolled back to #${x.rollback.to}: raters scored it lower on ${x.rollback.worse} of ` +
			`${x.rollback.worse + x.rollback.better + x.rollback.ties} prompts (sign test p = ${formatNumber(x.rollback.p)}).`;
	if (x.verdict) {
		const v = x.verdict, test = `${v.test === 'signed-rank' ? 'signed-rank' : 'sign'} test p = ${formatNumber(v.p)}` +
			(typeof v.level === 'number' ? `, level ${formatNumber(v.level)}` : '');
		const n = v.worse + v.better + v.ties, u = v.unseen;
		/* since 2026-12-06: better where it was trained, no worse where neither was (u) */
		const counts = `raters scored it higher on ${v.better} of ${u ? `the ${n} prompts it was trained on` : `${n} prompts`}, ` +
			`lower on ${v.worse}`;
		const signed = (x) => (x > 0 ? '+' : '') + formatNumber(x);
		const unseen = !u ? '' : u.prompts < u.min || typeof u.lo !== 'number' ?
			`; ${u.prompts} prompts neither was trained on, too few (${u.min}) to show it no worse` :
			`; on the ${u.prompts} prompts neither was trained on ${signed(u.mean)} on average ` +
			`(95 % lower bound ${signed(u.lo)}, to stay above -${formatNumber(u.margin)})`;
		if (v.decision === 'kept')
			return `Kept after people's final look against #${v.over} (${v.rated} of ${v.answers} answers rated): ${counts} ` +
				`(${test}${v.rm_leans ? '' : '; the reward model did not lean its way'})${unseen}.`;
		return `Promoted by people over #${v.over}${v.look === 'final' ? ' at their final look' : ''}: ${counts} (${test})${unseen}.`;
	}
	const p = x.promotion;
	if (!p) return null;
	if (p.mode !== 'gate') return p.decision === 'promoted' ? 'Promoted (promote: always).' : 'Kept as a candidate (promote: never).';
	const win = typeof p.win_rate === 'number' ? ` win rate ${formatNumber(p.win_rate)} [${formatNumber(p.win_lo)}, ${formatNumber(p.win_hi)}]` : '';
	if (p.decision === 'promoted' && p.margin > 0)
		return `Promoted by the gate as a soup with its parent among its members (the reward model must not prefer the parent by more than ${formatNumber(p.margin)}):${win}.`;
	if (p.decision === 'promoted') return `Promoted by the gate:${win}.`;
	return `Kept as a candidate: ${(p.reasons || []).join('; ')}.` +
		(p.sound === false ? ' People\'s ratings cannot promote it.' : '');
}

function figuresCell(m) {
	const figs = keyFigures(m), v = verdict(m), spot = spotCheckBlock(m);
	if (!figs.length && !v && !spot) return el('td', { class: 'muted', text: GENERATES.includes(m.kind) ? 'not evaluated' : '—' });
	return el('td', {}, figs.length ? el('div', { class: 'figures' }, ...figs.map(([k, val]) =>
		el('span', { class: 'figure', 'data-figure': k }, el('span', { class: 'muted', text: `${k} ` }), el('strong', { text: formatNumber(val) })))) : null,
	v ? el('div', { class: 'verdict muted', 'data-verdict': (m.metrics.rollback ? 'rollback' : m.metrics.verdict ? (m.metrics.verdict.decision === 'kept' ? 'people-kept' : 'people') : m.metrics.promotion.decision), text: v }) : null,
	spot);
}

async function activate(m, activeId) {
	const what = activeId && m.id < activeId ? 'Rolled back to' : 'Activated';
	try {
		await api('POST', `/api/models/${m.id}/activate`, {});
		showError('');
		$('models-status').textContent = `${what} model #${m.id}.`;
	} catch (e) {
		showError(`Could not activate model #${m.id}: ${e.message}`);
	}
	await load();
}

async function evaluate(m) {
	try {
		const r = await api('POST', '/api/train', { kind: 'eval', params: { model_id: m.id } });
		showError('');
		const st = $('models-status');
		st.replaceChildren(`Evaluating model #${m.id}: `, el('a', { href: `#jobs/${r.job_id}`, text: `job #${r.job_id}` }), '.');
	} catch (e) {
		showError(`Could not start an eval of model #${m.id}: ${e.message}`);
	}
}

function row(m, activeId) {
	const actions = [];
	if (GENERATES.includes(m.kind)) {
		if (!m.active) {
			const label = activeId && m.id < activeId ? 'Roll back' : 'Activate';
			actions.push(el('button', { type: 'button', class: 'small-btn', 'data-action': 'activate', 'data-model': m.id,
				text: label, 'aria-label': `${label} to model ${m.id}`, onclick: () => activate(m, activeId) }));
		}
		actions.push(el('button', { type: 'button', class: 'small-btn', 'data-action': 'evaluate', 'data-model': m.id,
			text: 'Evaluate', 'aria-label': `Evaluate model ${m.id}`, onclick: () => evaluate(m) }));
	}
	return el('tr', { 'data-model': m.id, class: m.active ? 'active-row' : '' },
		el('td', { class: 'num', text: String(m.id) }),
		el('td', {}, el('span', { class: `pill kind-${m.kind}`, text: m.kind })),
		el('td', { text: m.name || '' }),
		el('td', { class: 'num', text: m.parent_id ? `#${m.parent_id}` : '—' }),
		el('td', { class: 'num' }, m.job_id ? el('a', { href: `#jobs/${m.job_id}`, text: `#${m.job_id}` }) : el('span', { class: 'muted', text: 'import' })),
		el('td', { text: formatTime(m.created_at), title: m.created_at || '' }),
		figuresCell(m),
		el('td', { class: 'num', text: String(m.ratings ?? 0) }),
		el('td', {}, m.active ? el('span', { class: 'status status-active', 'data-active': 'true', text: 'active' }) : null),
		el('td', { class: 'actions' }, ...actions));
}

function drawCharts(list) {
	const byId = [...list].sort((a, b) => a.id - b.id);
	const pts = (f) => byId.filter((m) => m.metrics && m.metrics.eval && typeof f(m.metrics.eval) === 'number').map((m) => [m.id, f(m.metrics.eval)]);
	const xFormat = (x) => `#${x}`;
	const figs = [];
	const reward = pts((e) => e.reward_mean), win = pts((e) => e.win_rate), kl = pts((e) => e.kl);
	if (reward.length || win.length) {
		const f = lineChart([{ name: 'eval reward mean', points: reward }, { name: 'win rate vs parent', points: win }],
			{ title: 'Eval reward mean and win rate', xLabel: 'version', xFormat, integerX: true, state: chartState.figures, legend: true });
		f.dataset.chart = 'versions';
		figs.push(f);
	}
	if (kl.length) {
		const f = lineChart([{ name: 'KL to reference', points: kl }],
			{ title: 'KL to reference', xLabel: 'version', xFormat, integerX: true, yMin: 0, state: chartState.kl, legend: true });
		f.dataset.chart = 'versions-kl';
		figs.push(f);
	}
	const acc = byId.filter((m) => m.kind === 'reward' && typeof (m.metrics || {}).heldout_acc === 'number').map((m) => [m.id, m.metrics.heldout_acc]);
	if (acc.length) {
		const f = lineChart([{ name: 'held-out pairwise accuracy', points: acc }],
			{ title: 'Reward models: held-out accuracy', xLabel: 'version', xFormat, integerX: true, yMin: 0, yMax: 1, state: chartState.acc, legend: true });
		f.dataset.chart = 'versions-acc';
		figs.push(f);
	}
	$('model-charts').replaceChildren(...(figs.length ? figs
		: [el('p', { class: 'muted', text: 'No figures yet: evaluate a policy (Evaluate in the table) to see its reward, KL and win rate here.' })]));
	drawHuman(byId);
}

/* The tooltip of a version's human comparison with its parent. */
function humanTitle(m) {
	const h = m.human;
	const n = (k, what) => `${k} ${what}`;
	return `#${m.id} (${m.kind}): mean human score ${formatNumber(h.mean)}, its parent #${h.parent_id}: ` +
		`${formatNumber(h.parent_mean)}, on the ${h.prompts} prompt${h.prompts === 1 ? '' : 's'} both have rated answers on; ` +
		`${n(h.better, 'better')}, ${n(h.worse, 'worse')}, ${n(h.ties, h.ties === 1 ? 'tie' : 'ties')}`;
}

/* The learning curve by people: a pair of bars per version (its parent's mean
 * score and its own, on the same prompts). */
function drawHuman(byId) {
	const rated = byId.filter((m) => m.human && typeof m.human.mean === 'number').slice(-HUMAN_PAIRS);
	const box = $('model-human');
	if (!rated.length) {
		box.replaceChildren(el('p', { class: 'muted', text: 'Nothing to compare yet: once raters score answers of a version and of its parent to the same prompts, the pair shows here.' }));
		return;
	}
	const f = pairChart(rated.map((m) => ({
		label: `#${m.id} vs #${m.human.parent_id}`, a: m.human.mean, b: m.human.parent_mean, title: humanTitle(m),
		data: { model: m.id, parent: m.human.parent_id, mean: m.human.mean, 'parent-mean': m.human.parent_mean,
			prompts: m.human.prompts, better: m.human.better, worse: m.human.worse, ties: m.human.ties },
	})), { title: 'Mean human score: each version beside its parent, same prompts', aName: 'the version', bName: 'its parent', yMin: 1, yMax: 5 });
	f.dataset.chart = 'human';
	const summary = el('ul', { class: 'human-summary muted small' }, ...rated.map((m) =>
		el('li', { 'data-model': m.id, text: humanTitle(m) + '.' })));
	box.replaceChildren(f, summary);
}

export async function load() {
	const list = (await api('GET', '/api/models')).models || [];
	const active = list.find((m) => m.active);
	const activeId = active ? active.id : null;
	const tbody = $('models').tBodies[0];
	tbody.replaceChildren(...(list.length ? list.map((m) => row(m, activeId))
		: [el('tr', {}, el('td', { colspan: '10', class: 'muted', text: 'No model versions yet. Import one with rlhfd import-model, or run rlhfd demo init.' }))]));
	drawCharts(list);
}

export function initModels(loaders) {
	loaders.models = () => { $('models-status').textContent = ''; return load(); };
}
