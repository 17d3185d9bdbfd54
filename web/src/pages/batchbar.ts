// Batch operations from the instance list: the selection (rows ticked on
// this page, or every instance the filter matches), the operation
// (cancel, retry incidents, move tokens, migrate), a confirmation that
// says how many, then the batch's progress page.

import { api, type BatchRequest, type InstanceSelector } from '../api';
import { h, clear } from '../dom';
import { confirmDialog } from '../confirm';
import { errorBox } from '../ui';

// RUNNING_STATES are the statuses a batch acts on: ended instances are
// left out by the server.
const RUNNING_STATES = ['RUNNING', 'WAITING', 'FAILED'];

// selectorOf turns the API's search query (apiQuery) into a batch's
// filter, so that "all matching" means what the list shows.
export function selectorOf(q: URLSearchParams): InstanceSelector {
  const f: InstanceSelector = {};
  const str = (k: string) => q.get(k) || undefined;
  f.definitionId = str('definitionId');
  const v = Number(q.get('definitionVersion'));
  if (f.definitionId && v > 0) f.version = v;
  f.status = str('status');
  f.businessKey = str('businessKey');
  f.businessKeyPrefix = str('businessKeyPrefix');
  f.startedFrom = str('startedFrom');
  f.startedBefore = str('startedBefore');
  f.endedFrom = str('endedFrom');
  f.endedBefore = str('endedBefore');
  if (q.get('incident')) f.incident = q.get('incident') === 'true';
  f.error = str('error');
  const vars = q.getAll('var').filter((s) => s.trim());
  if (vars.length) f.vars = vars;
  return f;
}

// countActionable counts the instances a filter batch would take: those
// of the search that have not ended.
export async function countActionable(q: URLSearchParams): Promise<number> {
  const status = q.get('status');
  const count = async (s: string) => {
    const c = new URLSearchParams(q);
    c.set('status', s); c.set('limit', '1'); c.delete('after'); c.delete('sort'); c.delete('order');
    return (await api.instances(c)).total;
  };
  if (status) return RUNNING_STATES.includes(status) ? count(status) : 0;
  const n = await Promise.all(RUNNING_STATES.map(count));
  return n.reduce((a, b) => a + b, 0);
}

export interface Selection {
  ids(): string[];          // the rows ticked
  all(): boolean;           // every instance matching the filter
  definitions(): string[];  // the definition ids of the ticked rows
}

type Kind = BatchRequest['kind'];
const LABELS: Record<Kind, string> = { cancel: 'Cancel', retry: 'Retry incidents', modify: 'Move tokens', migrate: 'Migrate' };

// batchBar is the bar above the list; update() redraws it after the
// selection changes.
export function batchBar(apiQ: URLSearchParams, sel: Selection): { el: HTMLElement; update: () => void } {
  const el = h('div.batch-bar.card#batch-bar', { hidden: true });
  const count = h('span#batch-selection');
  const form = h('div.batch-form');
  const notice = h('div.batch-notice');
  let open: Kind | null = null;

  const button = (kind: Kind) => h('button', {
    type: 'button', dataset: { batch: kind }, class: kind === 'cancel' ? 'danger' : '',
    onclick: () => { open = open === kind ? null : kind; drawForm(); },
  }, LABELS[kind]);
  el.append(h('div.batch-row', count, h('span.spacer'), (['cancel', 'retry', 'modify', 'migrate'] as Kind[]).map(button)), form, notice);

  const fromTo = () => {
    const from = h('input#batch-from', { type: 'text', placeholder: 'from node id', required: true, list: 'batch-nodes' });
    const to = h('input#batch-to', { type: 'text', placeholder: 'to node id', required: true, list: 'batch-nodes' });
    const nodes = h('datalist#batch-nodes');
    const defs = sel.all() ? [apiQ.get('definitionId') ?? ''] : [...new Set(sel.definitions())];
    if (defs.length === 1 && defs[0]) suggestNodes(nodes, defs[0]);
    return { fields: [h('label', 'Move every token at ', from), h('label', ' to ', to), nodes], from, to };
  };

  const drawForm = () => {
    clear(notice);
    if (!open) { clear(form); return; }
    const kind = open;
    let extra: HTMLElement[] = [];
    let build: () => Partial<BatchRequest> | string = () => ({});
    if (kind === 'modify') {
      const { fields, from, to } = fromTo();
      extra = fields;
      build = () => {
        const a = from.value.trim(), b = to.value.trim();
        if (!a || !b) return 'Name the node to move the tokens from and the node to move them to.';
        return { instructions: [{ op: 'cancel', node: a }, { op: 'activate', node: b }] };
      };
    } else if (kind === 'migrate') {
      const defs = sel.all() ? [apiQ.get('definitionId') ?? ''] : [...new Set(sel.definitions())];
      const def = h('input#batch-target-definition', { type: 'text', value: defs.length === 1 ? defs[0] : '', placeholder: 'definition id', required: true });
      const version = h('select#batch-target-version', h('option', { value: '' }, 'latest'));
      const mapping = h('textarea#batch-mapping', { rows: 3, placeholder: 'review = check\n(one source = target a line; unlisted nodes keep their id)', spellcheck: 'false' });
      const versions = async () => {
        clear(version, h('option', { value: '' }, 'latest'));
        if (!def.value.trim()) return;
        try {
          for (const d of await api.versions(def.value.trim())) version.append(h('option', { value: String(d.version) }, `v${d.version}${d.name ? ` ${d.name}` : ''}`));
        } catch { /* latest stays */ }
      };
      def.addEventListener('change', versions);
      versions();
      extra = [h('label', 'Target definition ', def), h('label', 'Version ', version), h('label.vars', 'Node mapping ', mapping)];
      build = () => {
        if (!def.value.trim()) return 'Name the definition to migrate to.';
        const m = parseMapping(mapping.value);
        if (typeof m === 'string') return m;
        return { targetDefinition: { id: def.value.trim(), version: Number(version.value) || undefined }, mapping: Object.keys(m).length ? m : undefined };
      };
    }
    const problem = h('div.form-errors');
    clear(form, h('form.batch-op', {
      dataset: { kind },
      onsubmit: async (e: Event) => {
        e.preventDefault();
        clear(problem);
        const part = build();
        if (typeof part === 'string') { clear(problem, h('div.alert.alert-error', part)); return; }
        await start(kind, part, problem);
      },
    }, h('h3', LABELS[kind]), extra, h('p.small.muted', explain(kind)), problem,
      h('div.form-actions', h('button.primary#batch-start', { type: 'submit' }, `${LABELS[kind]}…`))));
  };

  const start = async (kind: Kind, part: Partial<BatchRequest>, problem: HTMLElement) => {
    const body: BatchRequest = { kind, ...part };
    let n: number;
    try {
      if (sel.all()) { body.filter = selectorOf(apiQ); n = await countActionable(apiQ); } else { body.instanceIds = sel.ids(); n = body.instanceIds.length; }
    } catch (err) { clear(problem, errorBox(err, 'The instances cannot be counted')); return; }
    if (n === 0) { clear(problem, h('div.alert.alert-error', 'No running, waiting or failed instance is selected: ended instances are left out.')); return; }
    const what = `${n} instance${n === 1 ? '' : 's'}`;
    const ok = await confirmDialog({
      title: `${LABELS[kind]}: ${what}?`,
      body: [h('p', { dataset: { count: String(n) } }, summary(body, what)),
        sel.all() ? h('p.small.muted', 'The instances matching the filter now are fixed when the batch starts; ended ones are left out.') : null,
        h('p.small.muted', 'The batch runs on the server, one instance at a time; you can follow it and leave the page.')],
      ok: `${LABELS[kind]} ${what}`,
      danger: kind === 'cancel',
    });
    if (!ok) return;
    try {
      const b = await api.createBatch(body);
      location.hash = `#/batches/${encodeURIComponent(b.id)}`;
    } catch (err) {
      clear(problem, errorBox(err, 'The batch cannot start'));
    }
  };

  const update = () => {
    const n = sel.ids().length;
    el.hidden = !n && !sel.all();
    count.textContent = sel.all() ? 'Every instance matching the filter' : `${n} selected`;
    count.dataset.count = sel.all() ? 'all' : String(n);
  };
  return { el, update };
}

function explain(kind: Kind): string {
  switch (kind) {
    case 'cancel': return 'Cancels each instance with its tasks and jobs. This cannot be undone.';
    case 'retry': return 'Runs the failed node of each instance with an open incident again; the others are counted as done.';
    case 'modify': return 'Cancels the tokens at the first node and starts one at the second, in one step per instance, recorded in its history with you as the actor.';
    case 'migrate': return 'Moves each instance to the target version; an instance whose active nodes have no counterpart, or with an open incident, is refused untouched.';
  }
}

function summary(b: BatchRequest, what: string): string {
  switch (b.kind) {
    case 'cancel': return `Cancel ${what}.`;
    case 'retry': return `Retry the open incidents of ${what}.`;
    case 'modify': return `Move the tokens at ${b.instructions?.[0]?.node} to ${b.instructions?.[1]?.node} in ${what}.`;
    case 'migrate': return `Migrate ${what} to ${b.targetDefinition?.id} ${b.targetDefinition?.version ? `v${b.targetDefinition.version}` : '(latest version)'}` +
      (b.mapping ? `, mapping ${Object.entries(b.mapping).map(([k, v]) => `${k} → ${v}`).join(', ')}.` : '.');
  }
}

// parseMapping reads "source = target" lines; a string is the error.
export function parseMapping(text: string): Record<string, string> | string {
  const m: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const parts = line.split(/\s*(?:=|->|→)\s*/);
    if (parts.length !== 2 || !parts[0] || !parts[1]) return `Mapping line ${i + 1} "${line}": write source = target.`;
    m[parts[0]] = parts[1];
  }
  return m;
}

// FLOW_NODE matches the BPMN elements a token can be at.
const FLOW_NODE = /(Task|task|Event|Gateway|subProcess|callActivity|transaction)$/;

// suggestNodes fills a datalist with the node ids (and names) of the
// latest version of a definition, read from its BPMN.
async function suggestNodes(list: HTMLDataListElement, definitionId: string) {
  let xml: string;
  try { xml = await api.bpmn(definitionId); } catch { return; /* typing the ids still works */ }
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const seen = new Set<string>();
  for (const el of doc.getElementsByTagName('*')) {
    const id = el.getAttribute('id');
    if (!id || seen.has(id) || !FLOW_NODE.test(el.localName) || /^(startEvent|boundaryEvent)$/.test(el.localName)) continue;
    seen.add(id);
    list.append(h('option', { value: id }, el.getAttribute('name') ?? ''));
  }
}
