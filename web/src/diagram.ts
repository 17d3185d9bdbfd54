// Diagrams: bpmn-js's NavigatedViewer (pan and zoom) with Baton's state
// drawn on top: tokens where the instance waits, completed nodes and taken
// flows, incidents on their node. BPMN without diagram information is laid
// out first with bpmn-auto-layout. Loaded on demand (a separate chunk).

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { layoutProcess } from 'bpmn-auto-layout';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';

export interface DiagramState {
  current?: string[];                  // node ids holding a token (repeats: several tokens)
  completed?: string[];                // node ids that completed
  skipped?: string[];                  // node ids an operator skipped (completed without running)
  moved?: string[];                    // node ids an operator moved a token away from
  taken?: string[];                    // sequence flow ids taken
  history?: { nodeId: string; action: string }[]; // to infer taken flows when the history has none
  incidents?: { nodeId: string; message: string }[];
  highlight?: string;                  // one node to emphasise (a task's node)
  links?: { nodeId: string; href: string; title: string; status?: string }[]; // call activities: their child instances
}

// DiagramNode is a flow node of the diagram (not a flow, label or lane).
export interface DiagramNode { id: string; name?: string; type: string }

export interface Diagram {
  setState(s: DiagramState): void;
  onClick(f: (id: string | null) => void): void;
  names(): Map<string, string>;           // element names by id
  nodes(): DiagramNode[];                 // the flow nodes, in diagram order
  destroy(): void;
}

// hasDiagram tells whether BPMN XML carries diagram interchange (shapes).
export function hasDiagram(xml: string): boolean {
  return /<([\w-]+:)?BPMNShape[\s>]/.test(xml);
}

export async function showDiagram(container: HTMLElement, xml: string): Promise<Diagram> {
  let laidOut = false;
  if (!hasDiagram(xml)) {
    xml = await layoutProcess(xml);
    laidOut = true;
  }
  const viewer: any = new NavigatedViewer({ container });
  const { warnings } = await viewer.importXML(xml);
  if (warnings?.length) console.warn('diagram import warnings', warnings);
  const canvas = viewer.get('canvas');
  const overlays = viewer.get('overlays');
  const registry = viewer.get('elementRegistry');
  fit(canvas);
  container.dataset.layout = laidOut ? 'auto' : 'diagram';
  container.classList.add('diagram-ready');

  const markers: [string, string][] = [];
  let destroyed = false;
  let clickHandler: ((id: string | null) => void) | null = null;
  viewer.on('element.click', (e: any) => {
    const el = e.element;
    const id = el && el.type !== 'bpmn:Process' && el.type !== 'bpmn:Collaboration' ? el.id : null;
    clickHandler?.(id);
  });

  function mark(id: string, cls: string) {
    if (!registry.get(id)) return false;
    canvas.addMarker(id, cls);
    markers.push([id, cls]);
    return true;
  }

  return {
    setState(s: DiagramState) {
      if (destroyed) return;
      for (const [id, cls] of markers.splice(0)) canvas.removeMarker(id, cls);
      overlays.remove({ type: 'baton' });
      for (const id of new Set(s.completed ?? [])) {
        if (mark(id, 'b-done')) {
          const el = registry.get(id);
          overlays.add(id, 'baton', {
            // Events and gateways have their label below and flow labels
            // to the right: mark them top left.
            position: el.width < 60 ? { top: -8, left: -8 } : { bottom: 4, right: 14 },
            html: `<div class="b-ov b-ov-done" title="completed" data-done="${escapeAttr(id)}">✓</div>`,
          });
        }
      }
      for (const id of new Set(s.skipped ?? [])) {
        if (mark(id, 'b-skipped')) {
          overlays.add(id, 'baton', {
            position: { bottom: 4, right: 14 },
            html: `<div class="b-ov b-ov-skipped" title="skipped by an operator: completed without running" data-skipped="${escapeAttr(id)}">⤼</div>`,
          });
        }
      }
      for (const id of new Set(s.moved ?? [])) {
        if (mark(id, 'b-moved')) {
          overlays.add(id, 'baton', {
            position: { bottom: 4, right: 14 },
            html: `<div class="b-ov b-ov-moved" title="an operator moved the token away from here" data-moved="${escapeAttr(id)}">↷</div>`,
          });
        }
      }
      const taken = s.taken?.length ? s.taken : inferTaken(registry, s.history ?? []);
      for (const id of new Set(taken)) mark(id, 'b-taken');
      const counts = new Map<string, number>();
      for (const id of s.current ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const [id, n] of counts) {
        if (mark(id, 'b-current')) {
          overlays.add(id, 'baton', {
            position: { top: -12, right: 12 },
            html: `<div class="b-ov b-ov-token" title="${n} token${n > 1 ? 's' : ''} waiting here" data-token="${escapeAttr(id)}">${n > 1 ? n : '●'}</div>`,
          });
        }
      }
      for (const inc of s.incidents ?? []) {
        if (mark(inc.nodeId, 'b-incident')) {
          overlays.add(inc.nodeId, 'baton', {
            position: { top: -14, left: -10 },
            html: `<div class="b-ov b-ov-incident" title="${escapeAttr(inc.message)}" data-incident="${escapeAttr(inc.nodeId)}">!</div>`,
          });
        }
      }
      // A call activity links to the instances it started (the newest
      // first when it ran several times).
      const byNode = new Map<string, NonNullable<DiagramState['links']>>();
      for (const l of s.links ?? []) byNode.set(l.nodeId, [...(byNode.get(l.nodeId) ?? []), l]);
      for (const [id, ls] of byNode) {
        if (!registry.get(id)) continue;
        const l = ls[ls.length - 1];
        overlays.add(id, 'baton', {
          position: { bottom: 4, left: 4 },
          html: `<a class="b-ov b-ov-link" href="${escapeAttr(l.href)}" title="${escapeAttr(l.title)}" data-child-of="${escapeAttr(id)}"` +
            ` data-status="${escapeAttr(l.status ?? '')}">↘ ${ls.length > 1 ? `${ls.length} instances` : 'child'}</a>`,
        });
      }
      if (s.highlight) mark(s.highlight, 'b-highlight');
    },
    onClick(f) { clickHandler = f; },
    names() {
      const m = new Map<string, string>();
      for (const el of registry.getAll()) {
        const name = el.businessObject?.name;
        if (name && !el.labelTarget) m.set(el.id, String(name).replace(/\s+/g, ' '));
      }
      return m;
    },
    nodes() {
      const out: DiagramNode[] = [];
      for (const el of registry.getAll()) {
        const bo = el.businessObject;
        if (el.waypoints || el.labelTarget || !bo || !bo.$instanceOf?.('bpmn:FlowNode')) continue;
        out.push({ id: el.id, name: bo.name ? String(bo.name).replace(/\s+/g, ' ') : undefined, type: String(el.type).replace(/^bpmn:/, '') });
      }
      return out;
    },
    destroy() {
      if (!destroyed) viewer.destroy();
      destroyed = true;
    },
  };
}

// fit shows the whole diagram with a margin (for the overlays), centred,
// never enlarged past 120%.
function fit(canvas: any) {
  const vb = canvas.viewbox();
  const inner = vb.inner, outer = vb.outer;
  if (!inner.width || !inner.height || !outer.width || !outer.height) return;
  const pad = 28;
  const w = inner.width + 2 * pad, hgt = inner.height + 2 * pad;
  const scale = Math.min(outer.width / w, outer.height / hgt, 1.2);
  const vw = outer.width / scale, vh = outer.height / scale;
  canvas.viewbox({ x: inner.x - (vw - inner.width) / 2, y: inner.y - (vh - inner.height) / 2, width: vw, height: vh });
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const FORKS = new Set(['bpmn:ParallelGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway']);

// inferTaken finds the sequence flows an instance took from the order in
// which its nodes were entered and completed: a node entered takes the
// incoming flow from a predecessor whose completion no other node has
// consumed yet (a forking gateway's completion feeds every branch).
export function inferTaken(registry: any, history: { nodeId: string; action: string }[]): string[] {
  const taken: string[] = [];
  const pending = new Map<string, number>();
  const active = new Set<string>();
  for (const e of history) {
    const el = registry.get(e.nodeId);
    if (!el || el.waypoints) continue;
    if (!active.has(e.nodeId) && ['waiting', 'completed', 'fired', 'terminated', 'incident'].includes(e.action)) {
      for (const f of el.incoming ?? []) {
        if (f.type !== 'bpmn:SequenceFlow') continue;
        const src = f.source?.id;
        const n = pending.get(src) ?? 0;
        if (n <= 0) continue;
        taken.push(f.id);
        if (!FORKS.has(f.source.type)) pending.set(src, n - 1);
      }
      active.add(e.nodeId);
    }
    if (e.action === 'completed' || e.action === 'terminated' || e.action === 'fired') {
      active.delete(e.nodeId);
      pending.set(e.nodeId, (pending.get(e.nodeId) ?? 0) + 1);
    } else if (e.action === 'cancelled') {
      active.delete(e.nodeId);
    }
  }
  return taken;
}
