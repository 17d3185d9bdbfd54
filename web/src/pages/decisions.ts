// The instance page's LLM parts: the table of recorded decisions and the
// advice on an incident.
//
// Everything shown here that a model or its provider wrote (reasons,
// answers, prompts, raw responses) is put into the page as text nodes
// (h() never parses HTML), so a model cannot inject markup.

import type { Advice, DecisionRecord } from '../api';
import { h, when } from '../dom';
import { jsonView, variablesTable } from '../ui';

type Names = Map<string, string>;
type Obj = Record<string, unknown>;

const GATEWAY_KEYS = new Set(['flow', 'reason', 'confidence', 'fallback', 'shadow', 'routed', 'agree']);
const ADVICE_KEYS = new Set(['action', 'variables', 'reason', 'confidence', 'model']);
const ADVICE_ACTIONS: Record<string, string> = {
  retry: 'Retry',
  retry_with_changes: 'Retry with changes',
  skip: 'Skip the step',
  escalate: 'Escalate to a person',
};

export type DecisionKind = 'gateway' | 'shadow' | 'fallback' | 'advice' | 'answer';

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// decisionKind tells what a recorded decision is from its shape: a gateway
// choice ({flow, reason, confidence}), a shadow comparison ({shadow,
// routed, flow, agree}), a fallback ({fallback}), incident advice (id
// "advice-…" or {action, reason, ...}), or any other answer (business
// rules, agent steps).
export function decisionKind(rec: DecisionRecord): DecisionKind {
  const d = rec.decision;
  if (!isObj(d)) return 'answer';
  const keys = Object.keys(d);
  if (rec.id.startsWith('advice-') || (typeof d.action === 'string' && Object.hasOwn(ADVICE_ACTIONS, d.action) && keys.every((k) => ADVICE_KEYS.has(k)))) {
    return 'advice';
  }
  if (keys.length && keys.every((k) => GATEWAY_KEYS.has(k))) {
    if (d.shadow === true) return 'shadow';
    if (typeof d.fallback === 'string' && d.fallback) return 'fallback';
    if (typeof d.flow === 'string' && d.flow) return 'gateway';
  }
  return 'answer';
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function flowChip(flow: string, names: Names): HTMLElement {
  const name = names.get(flow);
  return h('span.chip.flow', { dataset: { flow }, title: flow }, name ? [name, ' ', h('code', flow)] : h('code', flow));
}

function confidence(v: unknown): HTMLElement | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  return h('span.confidence', { dataset: { confidence: String(v) } }, `confidence ${v.toFixed(2)}`);
}

// compact is one line of JSON, cut at max characters.
export function compact(v: unknown, max = 160): string {
  let s: string;
  try { s = JSON.stringify(v) ?? String(v); } catch { s = String(v); }
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function actionLabel(action: string): string {
  return Object.hasOwn(ADVICE_ACTIONS, action) ? ADVICE_ACTIONS[action] : action;
}

// decisionSummary is the table cell's content: what was decided, in short.
export function decisionSummary(rec: DecisionRecord, names: Names): HTMLElement {
  const d = rec.decision;
  const kind = decisionKind(rec);
  const box = h('div.decision-summary', { dataset: { kind } });
  if (!isObj(d)) {
    box.append(h('code.answer', compact(d)));
    return box;
  }
  const reason = str(d.reason) ? h('div.reason', str(d.reason)) : null;
  switch (kind) {
    case 'gateway':
      box.append(h('span.muted', 'took '), flowChip(str(d.flow), names), ' ', confidence(d.confidence) ?? '', reason ?? '');
      break;
    case 'fallback':
      box.append(h('span.badge.fallback', 'fallback'), ' ', h('span.fallback-reason', str(d.fallback)),
        h('div.small.muted', 'the gateway routed by its conditions, its default flow or a person'));
      break;
    case 'shadow': {
      const agree = d.agree === true;
      box.append(h('span.badge.shadow', 'shadow'), ' routed ', str(d.routed) ? flowChip(str(d.routed), names) : h('span.muted', '—'));
      if (str(d.fallback)) {
        box.append(' · model: ', h('span.fallback-reason', `fallback (${str(d.fallback)})`));
      } else {
        box.append(' · model ', str(d.flow) ? flowChip(str(d.flow), names) : h('span.muted', '—'), ' ',
          h('span.badge', { class: agree ? 'agree' : 'disagree', dataset: { agree: String(agree) } }, agree ? 'agree' : 'disagree'),
          ' ', confidence(d.confidence) ?? '');
      }
      if (reason) box.append(reason);
      break;
    }
    case 'advice': {
      box.append(h('span.badge.advice-kind', 'advice'), ' ', h('strong.advice-action', actionLabel(str(d.action))), ' ', confidence(d.confidence) ?? '');
      if (reason) box.append(reason);
      if (isObj(d.variables) && Object.keys(d.variables).length) box.append(h('div.small', 'set ', h('code', compact(d.variables, 120))));
      break;
    }
    default:
      if (d.invalid === true) {
        box.append(h('span.badge.fallback', 'invalid answer'), ' ', h('span', str(d.problem)));
      } else {
        box.append(h('code.answer', compact(d)));
      }
  }
  return box;
}

// formatCost renders micro-dollars as dollars.
export function formatCost(micros: number): string {
  if (!micros) return '$0';
  const dollars = micros / 1e6;
  if (dollars < 0.0001) return '< $0.0001';
  return '$' + (dollars < 1 ? dollars.toFixed(4) : dollars.toFixed(2));
}

export function formatLatency(ms: number): string {
  if (!ms) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

// requestView shows what was sent: the instructions and each message as
// text, the rest as JSON.
function requestView(req: unknown): HTMLElement {
  if (req === undefined || req === null) return h('p.muted', 'Nothing was sent to a model.');
  if (!isObj(req) || (!Array.isArray(req.messages) && typeof req.system !== 'string')) return jsonView(req);
  const parts: HTMLElement[] = [];
  if (typeof req.system === 'string' && req.system) parts.push(h('div.prompt-part', h('div.prompt-role', 'system'), h('pre.prompt', req.system)));
  for (const m of Array.isArray(req.messages) ? req.messages : []) {
    const role = isObj(m) ? str(m.role) || 'message' : 'message';
    const text = isObj(m) && typeof m.text === 'string' ? m.text : compact(m, 100000);
    parts.push(h('div.prompt-part', h('div.prompt-role', role), h('pre.prompt', text)));
  }
  const rest: Obj = {};
  for (const [k, v] of Object.entries(req)) if (k !== 'system' && k !== 'messages') rest[k] = v;
  if (Object.keys(rest).length) parts.push(h('details', h('summary', 'request options'), jsonView(rest)));
  return h('div.request', parts);
}

// responseView shows the provider's raw answer as text (pretty-printed
// when it is JSON).
function responseView(raw: string | undefined): HTMLElement {
  if (!raw) return h('p.muted', 'No response was recorded.');
  let text = raw;
  try { text = JSON.stringify(JSON.parse(raw), null, 2); } catch { /* not JSON: as received */ }
  return h('pre.raw-response', text);
}

function detailRow(rec: DecisionRecord): HTMLElement {
  return h('tr.decision-detail', { dataset: { decisionId: rec.id } },
    h('td', { colspan: 7 },
      h('div.decision-detail-grid',
        h('div', h('h4', 'Request'), requestView(rec.request)),
        h('div', h('h4', 'Raw response'), responseView(rec.response))),
      h('div.small.muted', 'decision ', h('code', rec.id), rec.jobId ? [' · job ', h('code', rec.jobId)] : null),
      h('details', h('summary', 'decision as recorded'), jsonView(rec.decision))));
}

// decisionsTable lists the decisions, oldest first; a row opens (and
// closes) its request and raw response. expanded holds the open rows'
// ids and survives re-rendering.
export function decisionsTable(recs: DecisionRecord[], names: Names, expanded: Set<string>): HTMLElement {
  if (!recs.length) return h('p.muted.decisions-empty', 'No LLM decisions were recorded for this instance.');
  const body = h('tbody');
  for (const rec of recs) {
    const open = expanded.has(rec.id);
    const toggle = h('button.link.expand', { type: 'button', 'aria-expanded': String(open), title: 'show the request and the raw response' }, open ? '▾' : '▸');
    const row = h('tr.decision', { class: open ? 'open' : '', dataset: { decisionId: rec.id, node: rec.nodeId, kind: decisionKind(rec) } },
      h('td', toggle, ' ', h('time', { datetime: rec.createdAt, title: when(rec.createdAt) }, new Date(rec.createdAt).toLocaleTimeString('en-GB'))),
      h('td.node', names.get(rec.nodeId) ? `${names.get(rec.nodeId)} ` : '', h('code', rec.nodeId)),
      h('td.provider', rec.provider, rec.model ? h('div.small.muted', rec.model) : null),
      h('td.decision-cell', decisionSummary(rec, names)),
      h('td.num.tokens', `${rec.inputTokens} / ${rec.outputTokens}`),
      h('td.num.cost', { title: `${rec.costMicroDollars} micro-dollars` }, formatCost(rec.costMicroDollars)),
      h('td.num.latency', formatLatency(rec.latencyMs)));
    const detail = detailRow(rec);
    detail.hidden = !open;
    const flip = () => {
      const now = !expanded.has(rec.id);
      if (now) expanded.add(rec.id); else expanded.delete(rec.id);
      detail.hidden = !now;
      row.classList.toggle('open', now);
      toggle.textContent = now ? '▾' : '▸';
      toggle.setAttribute('aria-expanded', String(now));
    };
    row.addEventListener('click', (e) => {
      // Clicks on links, or selecting text, do not toggle.
      if ((e.target as HTMLElement).closest('a') || (getSelection()?.toString() ?? '') !== '') return;
      flip();
    });
    body.append(row, detail);
  }
  const sum = (f: (r: DecisionRecord) => number) => recs.reduce((n, r) => n + (f(r) || 0), 0);
  const cost = sum((r) => r.costMicroDollars);
  return h('table.list.decisions',
    h('thead', h('tr', h('th', 'Time'), h('th', 'Node'), h('th', 'Provider / model'), h('th', 'Decision'),
      h('th.num', 'Tokens in / out'), h('th.num', 'Cost'), h('th.num', 'Latency'))),
    body,
    h('tfoot', h('tr', h('td', { colspan: 4 }, `${recs.length} call${recs.length === 1 ? '' : 's'}`),
      h('td.num', `${sum((r) => r.inputTokens)} / ${sum((r) => r.outputTokens)}`),
      h('td.num', { title: `${cost} micro-dollars` }, formatCost(cost)),
      h('td.num', formatLatency(sum((r) => r.latencyMs))))));
}

// adviceView shows an incident's advice; apply is the button that applies
// it (null: the user may not, or the advice is to ask a person).
export function adviceView(a: Advice, apply: HTMLElement | null): HTMLElement {
  const vars = isObj(a.variables) && Object.keys(a.variables).length ? a.variables : null;
  return h('div.advice', { dataset: { action: a.action } },
    h('div.advice-head', h('strong', 'LLM advice: '), h('span.advice-action', actionLabel(a.action)), ' ',
      confidence(a.confidence) ?? '', a.model ? h('span.small.muted', ` · ${a.model}`) : null),
    a.reason ? h('div.advice-reason', a.reason) : null,
    vars ? h('div.advice-vars', h('div.small.muted', 'Proposed variable changes'), variablesTable(vars)) : null,
    a.action === 'escalate' ? h('div.small.muted', 'The model asks for a person to decide: use Recover.') : null,
    apply);
}
