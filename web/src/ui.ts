// Shared page parts: error boxes, flash messages, the diagram panel.

import { ApiError, api, type ProblemError } from './api';
import { h, clear } from './dom';
import type { Diagram } from './diagram';

export function errorBox(err: unknown, what = ''): HTMLElement {
  const box = h('div.alert.alert-error', { role: 'alert' });
  if (err instanceof ApiError) {
    const p = err.problem;
    box.append(
      h('strong', `${what ? what + ': ' : ''}${p.title || 'Error'}${err.status ? ` (${err.status})` : ''}`),
      h('div', p.detail || ''),
    );
    if (p.errors?.length) box.append(problemList(p.errors));
  } else {
    box.append(h('strong', what || 'Error'), h('div', String((err as Error)?.message ?? err)));
  }
  return box;
}

export function problemList(errors: ProblemError[]): HTMLElement {
  return h('ul.problems', errors.map((e) => h('li', e.location ? h('code', e.location) : null, e.location ? ' ' : '', e.message)));
}

// Flash: a message that survives one navigation ("Task completed").
let flashMsg: { text: string; kind: string } | null = null;
export function flash(text: string, kind = 'ok') { flashMsg = { text, kind }; }
export function takeFlash(): HTMLElement {
  if (!flashMsg) return h('div.flash');
  const el = h('div.alert', { class: `alert-${flashMsg.kind}`, role: 'status' }, flashMsg.text);
  flashMsg = null;
  return el;
}

// Diagram XML by definition and version: versions are immutable.
const xmlCache = new Map<string, Promise<string>>();
export function definitionXML(id: string, version: number): Promise<string> {
  const key = `${id}@${version}`;
  let p = xmlCache.get(key);
  if (!p) {
    p = api.bpmn(id, version);
    p.catch(() => xmlCache.delete(key));
    xmlCache.set(key, p);
  }
  return p;
}

// diagramPanel draws a definition version into host; null when it cannot.
export async function diagramPanel(host: HTMLElement, id: string, version: number): Promise<Diagram | null> {
  clear(host, h('div.muted.loading', 'Loading diagram…'));
  try {
    const [xml, mod] = await Promise.all([definitionXML(id, version), import('./diagram')]);
    clear(host);
    const canvas = h('div.diagram', { dataset: { definition: id, version: String(version) } });
    host.append(canvas);
    return await mod.showDiagram(canvas, xml);
  } catch (err) {
    clear(host, errorBox(err, 'The diagram cannot be drawn'));
    return null;
  }
}

export function jsonView(v: unknown): HTMLElement {
  return h('pre.json', JSON.stringify(v, null, 2));
}

export function variablesTable(vars: Record<string, unknown>): HTMLElement {
  const keys = Object.keys(vars).sort();
  if (!keys.length) return h('p.muted', 'No variables.');
  return h('table.vars',
    h('thead', h('tr', h('th', 'Name'), h('th', 'Value'))),
    h('tbody', keys.map((k) => {
      const v = vars[k];
      const text = typeof v === 'string' ? v : JSON.stringify(v, null, v && typeof v === 'object' ? 2 : undefined);
      return h('tr', { dataset: { var: k } }, h('td', h('code', k)), h('td', typeof v === 'object' && v !== null ? h('pre.json', text) : h('span', { class: `v-${typeof v}` }, text)));
    })));
}
