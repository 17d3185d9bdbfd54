// Batch operations: the list (#/batches) and one batch's progress
// (#/batches/ID), followed live while it runs.

import { ApiError, api, type Batch, type BatchItem } from '../api';
import { h, clear, relative, when, debounce, short } from '../dom';
import { subscribe } from '../events';
import { errorBox, takeFlash } from '../ui';
import type { Ctx } from '../main';

// A running batch is read again every POLL_MS, and at once when one of
// its instances changes (the event stream).
const POLL_MS = 1000;
const FAILURES = 200;

const KINDS: Record<string, string> = { cancel: 'Cancel', retry: 'Retry incidents', modify: 'Modify', migrate: 'Migrate' };

export function progress(b: Batch): HTMLElement {
  const pct = (n: number) => (b.total ? (100 * n) / b.total : 0);
  return h('div.batch-progress', {
    role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(b.total), 'aria-valuenow': String(b.done + b.failed),
    dataset: { done: String(b.done), failed: String(b.failed), total: String(b.total) },
  },
  h('span.bp-done', { style: `width: ${pct(b.done)}%` }),
  h('span.bp-failed', { style: `width: ${pct(b.failed)}%` }));
}

function stateBadge(b: Batch): HTMLElement {
  const label = b.state === 'done' ? (b.failed ? 'done with failures' : 'done') : b.state;
  return h('span.badge', { class: `batch-${b.state}${b.failed ? ' batch-has-failures' : ''}`, dataset: { state: b.state } }, label);
}

// what says what the batch does, from its stored request.
function what(b: Batch): string {
  const r = b.request ?? { kind: b.kind };
  switch (b.kind) {
    case 'migrate': {
      const t = r.targetDefinition;
      const map = r.mapping && Object.keys(r.mapping).length ? `, mapping ${Object.entries(r.mapping).map(([k, v]) => `${k} → ${v}`).join(', ')}` : '';
      return `Migrate to ${t?.id ?? '?'} v${t?.version ?? '?'}${map}`;
    }
    case 'modify':
      return (r.instructions ?? []).map((i) => `${i.op}${i.node ? ` ${i.node}` : ''}`).join(', ') || 'Modify';
    default:
      return KINDS[b.kind] ?? b.kind;
  }
}

function chosen(b: Batch): string {
  const f = b.request?.filter;
  if (!f) return 'listed instances';
  const parts = Object.entries(f).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(' and ') : String(v)}`);
  return parts.length ? `filter: ${parts.join('; ')}` : 'every running instance';
}

export async function batchesPage(root: HTMLElement, _ctx: Ctx) {
  const host = h('div#batches');
  const more = h('nav.pager');
  root.append(h('div.page-head', h('h1', 'Batch operations')), host, more);
  let after: string | undefined;
  const rows: Batch[] = [];
  const draw = () => {
    if (!rows.length) { clear(host, h('div.card', h('p.muted#no-batches', 'No batch yet. Start one from the instance list: tick instances, or select all that match the filter.'))); return; }
    clear(host, h('div.card.table-wrap', h('table.list.batches',
      h('thead', h('tr', h('th', 'Batch'), h('th', 'Operation'), h('th', 'Progress'), h('th', 'State'), h('th', 'By'), h('th', 'Started'))),
      h('tbody', rows.map((b) => h('tr', { dataset: { batchId: b.id, state: b.state } },
        h('td', h('a.mono', { href: `#/batches/${encodeURIComponent(b.id)}` }, short(b.id, 12))),
        h('td', what(b), h('div.small.muted', chosen(b))),
        h('td', progress(b), h('div.small', `${b.done} done, ${b.failed} failed of ${b.total}`)),
        h('td', stateBadge(b)),
        h('td.small', b.createdBy ?? ''),
        h('td.small', { title: when(b.createdAt) }, relative(b.createdAt))))))));
  };
  // Newest first, a page at a time; a refresh reloads the pages shown.
  const load = async (reset: boolean) => {
    try {
      const shown = Math.max(rows.length, 1);
      if (reset) { rows.length = 0; after = undefined; }
      do {
        const page = await api.batches(after);
        rows.push(...page.batches);
        after = page.next;
      } while (after && rows.length < shown);
      clear(more, after ? h('button#more-batches', { onclick: () => load(false) }, 'Older batches') : '');
      draw();
    } catch (err) {
      clear(host, errorBox(err, 'The batches cannot be loaded'));
    }
  };
  clear(host, h('p.muted.loading', 'Loading batches…'));
  await load(true);
  const timer = window.setInterval(() => { if (rows.some((b) => b.state === 'running')) load(true); }, POLL_MS * 2);
  return () => clearInterval(timer);
}

export async function batchPage(root: HTMLElement, { params }: Ctx) {
  const [id] = params;
  const head = h('div.page-head', h('h1', 'Batch'));
  const summary = h('section.card#batch-summary');
  const failures = h('section.card#batch-failures');
  const items = h('section.card#batch-items');
  root.append(h('p.crumbs', h('a', { href: '#/batches' }, '← Batches'), ' · ', h('a', { href: '#/instances' }, 'Instances')),
    takeFlash(), head, summary, failures, items);

  let b: Batch | null = null;
  let timer: number | undefined;
  let destroyed = false, missing = false;
  const load = async () => {
    if (destroyed) return;
    try {
      b = await api.batch(id, { limit: 100 });
      const failed = b.failed ? await api.batch(id, { itemState: 'failed', limit: FAILURES }) : null;
      if (destroyed) return;
      draw(b, failed?.items ?? []);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) { clear(root, h('div.alert.alert-error', `Batch ${id} does not exist.`)); missing = true; stop(); return; }
      clear(summary, errorBox(err, 'The batch cannot be loaded'));
    }
    if (b?.state === 'done') stop();
  };
  const stop = () => { if (timer !== undefined) clearInterval(timer); timer = undefined; };

  const draw = (b: Batch, failed: BatchItem[]) => {
    clear(head, h('h1', KINDS[b.kind] ?? b.kind, ' ', h('span.mono.muted', b.id)), stateBadge(b));
    const left = b.total - b.done - b.failed;
    clear(summary,
      h('p#batch-what', what(b), h('span.muted', ` · ${chosen(b)}`)),
      progress(b),
      h('dl.batch-counts',
        h('dt', 'Instances'), h('dd#batch-total', String(b.total)),
        h('dt', 'Done'), h('dd#batch-done', String(b.done)),
        h('dt', 'Failed'), h('dd#batch-failed', { class: b.failed ? 'bad' : '' }, String(b.failed)),
        h('dt', 'Pending'), h('dd#batch-pending', String(left))),
      h('p.small.muted', `Started by ${b.createdBy || 'someone'} `, h('time', { title: when(b.createdAt) }, relative(b.createdAt)),
        b.finishedAt ? [', finished ', h('time', { title: when(b.finishedAt) }, relative(b.finishedAt))] : ', running on the server: this page follows it.'));
    clear(failures, h('h2', 'Failures ', h('span.count', String(b.failed))),
      failed.length ? h('table.list.batch-failed', h('tbody', failed.map((it) => h('tr', { dataset: { instanceId: it.instanceId } },
        h('td', h('a.mono', { href: `#/instances/${encodeURIComponent(it.instanceId)}` }, short(it.instanceId, 16))),
        h('td.batch-error', it.error ?? ''))))) : h('p.muted', b.failed ? 'Loading…' : 'None.'),
      b.failed > failed.length ? h('p.small.muted', `The first ${failed.length} of ${b.failed}.`) : null);
    clear(items, h('h2', 'Instances'),
      h('table.list.batch-items', h('tbody', (b.items ?? []).map((it) => h('tr', { dataset: { instanceId: it.instanceId, state: it.state } },
        h('td', h('a.mono', { href: `#/instances/${encodeURIComponent(it.instanceId)}` }, short(it.instanceId, 16))),
        h('td', h('span.badge', { class: `item-${it.state}` }, it.state)),
        h('td.small.muted', it.error ?? ''))))),
      b.nextItems ? h('p.small.muted', `The first ${(b.items ?? []).length} of ${b.total}.`) : null);
  };

  clear(summary, h('p.muted.loading', 'Loading the batch…'));
  const soon = debounce(load, 200);
  const off = subscribe((ev) => { if (b?.state === 'running' && (ev.type.startsWith('instance.') || ev.type === 'resync')) soon(); });
  await load();
  if (!missing && !destroyed && (!b || (b as Batch).state !== 'done')) timer = window.setInterval(load, POLL_MS);
  return () => { destroyed = true; stop(); off(); };
}
