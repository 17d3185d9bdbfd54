// The instance page's live operations for operators: modify (cancel
// tokens, start tokens at nodes, set variables, in one step) and migrate
// to another version; and the call-activity links to the parent and the
// child instances.

import { api, type CallLink, type Instance, type ModifyInstruction } from '../api';
import { h, clear, statusBadge, short } from '../dom';
import { confirmDialog } from '../confirm';
import type { DiagramNode } from '../diagram';
import { errorBox } from '../ui';
import { parseMapping } from './batchbar';

// Nodes a token cannot be started at (the server refuses them too).
const NOT_ACTIVATABLE = new Set(['StartEvent', 'BoundaryEvent']);

export interface OpsHost {
  inst(): Instance;
  names(): Map<string, string>;
  nodes(): DiagramNode[];
  // run sends a change and shows the instance it returns (or the error).
  run(f: () => Promise<Instance>, what: string, where?: HTMLElement): Promise<boolean>;
}

const label = (names: Map<string, string>, id: string) => (names.get(id) ? `${names.get(id)} (${id})` : id);

// modifyPanel: tick the tokens to cancel, pick nodes to start tokens at,
// and optionally variables to set; a confirmation lists the changes.
export function modifyPanel(host: OpsHost, close: () => void): HTMLElement {
  const inst = host.inst();
  const names = host.names();
  const tokens = inst.tokens ?? [];
  const cancel = tokens.map((t) => h('label.check', h('input.modify-cancel', { type: 'checkbox', value: String(t.id), dataset: { node: t.nodeId } }),
    ` ${label(names, t.nodeId)}`, t.wait ? h('span.muted.small', ` waits for ${t.wait}`) : null));
  const nodes = host.nodes().filter((n) => !NOT_ACTIVATABLE.has(n.type));
  const activate = h('select#modify-activate', { multiple: true, size: Math.min(6, Math.max(3, nodes.length)) },
    nodes.map((n) => h('option', { value: n.id }, `${n.name ? `${n.name} ` : ''}(${n.id})`)));
  const free = h('input#modify-activate-id', { type: 'text', placeholder: 'or a node id' });
  const vars = h('textarea#modify-vars', { rows: 3, placeholder: '{"approved": true} (optional: set in the process)', spellcheck: 'false' });
  const problem = h('div.form-errors');
  return h('form.modify-form.ops-panel', {
    onsubmit: async (e: Event) => {
      e.preventDefault();
      clear(problem);
      const ins: ModifyInstruction[] = [];
      const said: string[] = [];
      for (const box of (e.currentTarget as HTMLElement).querySelectorAll<HTMLInputElement>('input.modify-cancel:checked')) {
        ins.push({ op: 'cancel', token: Number(box.value) });
        said.push(`cancel the token at ${label(names, box.dataset.node ?? '')}`);
      }
      const targets = [...activate.selectedOptions].map((o) => o.value);
      if (free.value.trim()) targets.push(free.value.trim());
      for (const n of targets) { ins.push({ op: 'activate', node: n }); said.push(`start a token at ${label(names, n)}`); }
      if (vars.value.trim()) {
        let v: unknown;
        try { v = JSON.parse(vars.value); } catch (err) { clear(problem, h('div.alert.alert-error', `Variables: not JSON: ${(err as Error).message}`)); return; }
        if (!v || typeof v !== 'object' || Array.isArray(v)) { clear(problem, h('div.alert.alert-error', 'Variables must be a JSON object.')); return; }
        ins.push({ op: 'setVariables', variables: v as Record<string, unknown> });
        said.push(`set ${Object.keys(v).join(', ')}`);
      }
      if (!ins.length) { clear(problem, h('div.alert.alert-error', 'Choose a token to cancel, a node to start at, or variables to set.')); return; }
      const ok = await confirmDialog({
        title: `Modify instance ${short(inst.instanceId, 12)}?`,
        body: [h('p', `${ins.length} change${ins.length === 1 ? '' : 's'}, applied together or not at all:`),
          h('ol.modify-summary', said.map((s) => h('li', s))),
          h('p.small.muted', 'Cancelled tokens close their tasks and jobs; new tokens run as if a flow had reached them. The history records it with you as the actor.')],
        ok: 'Apply the modification',
      });
      if (!ok) return;
      if (await host.run(() => api.modify(inst.instanceId, ins), 'The instance was not modified', problem)) close();
    },
  },
  h('h3', 'Modify'),
  tokens.length ? h('fieldset', h('legend', 'Cancel tokens'), cancel) : h('p.small.muted', 'No active token.'),
  h('fieldset', h('legend', 'Start tokens at'), activate, free),
  h('label.vars', 'Set variables ', vars),
  problem,
  h('div.form-actions', h('button.primary#modify-apply', { type: 'submit' }, 'Modify…'), ' ', h('button#modify-close', { type: 'button', onclick: close }, 'Close')));
}

// migratePanel: target version and node mapping; "Check" is a dry run
// that says whether it would migrate, "Migrate" asks and then does it.
export function migratePanel(host: OpsHost, close: () => void): HTMLElement {
  const inst = host.inst();
  const def = h('input#migrate-definition', { type: 'text', value: inst.definitionId, required: true });
  const version = h('select#migrate-version', h('option', { value: '' }, 'latest'));
  const mapping = h('textarea#migrate-mapping', { rows: 3, placeholder: 'review = check\n(one source = target a line; unlisted nodes keep their id)', spellcheck: 'false' });
  const report = h('div.migrate-report');
  const versions = async () => {
    clear(version, h('option', { value: '' }, 'latest'));
    try {
      const vs = await api.versions(def.value.trim());
      for (const d of vs) version.append(h('option', { value: String(d.version), disabled: d.id === inst.definitionId && d.version === inst.definitionVersion },
        `v${d.version}${d.id === inst.definitionId && d.version === inst.definitionVersion ? ' (current)' : ''}`));
      const newest = vs.map((d) => d.version).sort((a, b) => b - a)[0];
      if (newest && !(def.value.trim() === inst.definitionId && newest === inst.definitionVersion)) version.value = String(newest);
    } catch (err) { clear(report, errorBox(err, 'The versions cannot be listed')); }
  };
  def.addEventListener('change', versions);
  versions();
  const body = (dryRun: boolean) => {
    const m = parseMapping(mapping.value);
    if (typeof m === 'string') { clear(report, h('div.alert.alert-error', m)); return null; }
    return { instanceIds: [inst.instanceId], targetDefinition: { id: def.value.trim(), version: Number(version.value) || undefined },
      mapping: Object.keys(m).length ? m : undefined, dryRun };
  };
  const check = async () => {
    const b = body(true);
    if (!b) return;
    try {
      const rep = await api.migrate(b);
      const r = rep.instances[0];
      clear(report, h('div.alert', { class: r?.outcome === 'refused' ? 'alert-error' : 'alert-ok', dataset: { outcome: r?.outcome ?? '' } },
        r?.outcome === 'refused' ? `It would be refused: ${r.reason}` : r?.outcome === 'unchanged' ? 'It already runs that version.' : `It can migrate from ${r?.from} to ${r?.to}.`));
    } catch (err) { clear(report, errorBox(err, 'The migration cannot be checked')); }
  };
  return h('form.migrate-form.ops-panel', {
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const b = body(false);
      if (!b) return;
      const target = `${b.targetDefinition.id} ${b.targetDefinition.version ? `v${b.targetDefinition.version}` : '(latest version)'}`;
      const ok = await confirmDialog({
        title: `Migrate to ${target}?`,
        body: [h('p', `Instance ${short(inst.instanceId, 12)} moves from ${inst.definitionId} v${inst.definitionVersion} to ${target}.`),
          b.mapping ? h('ul', Object.entries(b.mapping).map(([k, v]) => h('li', h('code', k), ' → ', h('code', v)))) : h('p.small.muted', 'No mapping: every active node keeps its id.'),
          h('p.small.muted', 'Waiting tasks keep their assignee, timers their due time. If a node has no counterpart the instance is refused, untouched.')],
        ok: 'Migrate',
      });
      if (!ok) return;
      try {
        const rep = await api.migrate(b);
        const r = rep.instances[0];
        if (r?.outcome === 'refused') { clear(report, h('div.alert.alert-error', { dataset: { outcome: 'refused' } }, `Not migrated: ${r.reason}`)); return; }
        if (await host.run(() => api.instance(inst.instanceId), 'The instance cannot be loaded', report)) close();
      } catch (err) { clear(report, errorBox(err, 'The instance was not migrated')); }
    },
  },
  h('h3', 'Migrate to another version'),
  h('label', 'Definition ', def), h('label', 'Version ', version), h('label.vars', 'Node mapping ', mapping),
  report,
  h('div.form-actions', h('button#migrate-check', { type: 'button', onclick: check }, 'Check'), ' ',
    h('button.primary#migrate-run', { type: 'submit' }, 'Migrate…'), ' ', h('button#migrate-close', { type: 'button', onclick: close }, 'Close')));
}

// callLinks lists the parent and the child instances of call activities.
export function callLinks(inst: Instance, names: Map<string, string>): HTMLElement | null {
  const kids = inst.children ?? [];
  if (!inst.parent && !kids.length) return null;
  const link = (c: CallLink) => h('a.mono', { href: `#/instances/${encodeURIComponent(c.instanceId)}` }, short(c.instanceId, 14));
  return h('div.call-links',
    inst.parent ? h('p#parent-instance', { dataset: { instanceId: inst.parent.instanceId } }, 'Called by ', link(inst.parent),
      inst.parent.definitionId ? h('span.muted', ` ${inst.parent.definitionId}`) : null, ` at ${inst.parent.nodeId} `,
      inst.parent.status ? statusBadge(inst.parent.status) : null) : null,
    kids.length ? [h('h3', 'Called instances'), h('ul.plain#child-instances', kids.map((c) => h('li', { dataset: { instanceId: c.instanceId, node: c.nodeId } },
      link(c), ' ', h('span.muted', `${c.definitionId ?? ''} from ${names.get(c.nodeId) ?? c.nodeId} `), c.status ? statusBadge(c.status) : null)))] : null);
}
