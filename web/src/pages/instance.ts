import { ApiError, api, may, type HistoryEntry, type Instance, type Task } from '../api';
import { h, clear, relative, when, statusBadge, debounce } from '../dom';
import { subscribe } from '../events';
import { diagramPanel, errorBox, jsonView, takeFlash, variablesTable } from '../ui';
import type { Diagram, DiagramState } from '../diagram';
import type { Ctx } from '../main';
import { dueBadge } from './inbox';

const ENDED = new Set(['COMPLETED', 'CANCELLED']);

// diagramState derives the diagram's markers from the instance: tokens on
// currentNodeIds, completed nodes and taken flows from the history, open
// incidents on their node.
export function diagramState(inst: Instance): DiagramState {
  const completed: string[] = [], taken: string[] = [];
  for (const e of inst.executionHistory ?? []) {
    if (!e.nodeId) continue;
    if (e.action === 'taken') taken.push(e.nodeId);
    else if (e.action === 'completed' || e.action === 'terminated' || e.action === 'fired') completed.push(e.nodeId);
  }
  return {
    current: inst.currentNodeIds ?? [],
    completed,
    taken,
    history: inst.executionHistory ?? [],
    incidents: (inst.incidents ?? []).filter((i) => i.state !== 'resolved').map((i) => ({ nodeId: i.nodeId, message: `${i.kind}: ${i.message}` })),
  };
}

export async function instancePage(root: HTMLElement, { params }: Ctx) {
  const [id] = params;
  const head = h('div.page-head', h('h1', 'Instance'));
  const actions = h('div.instance-actions');
  const facts = h('dl.facts');
  const diagramHost = h('div.diagram-host');
  const incidents = h('div.incidents');
  const tasks = h('div.open-tasks');
  const history = h('div.history');
  const vars = h('div.variables');
  const checkpoints = h('div.checkpoints');
  const msg = h('div.msg');
  root.append(
    h('p.crumbs', h('a', { href: '#/instances' }, '← Instances')),
    head, takeFlash(), msg,
    h('div.instance-grid',
      h('section.card.diagram-card', diagramHost, incidents),
      h('aside.card', facts, actions, tasks)),
    h('div.instance-grid.lower',
      h('section.card', h('h2', 'History', h('button.link.clear-filter', { type: 'button', hidden: true }, 'show all')), history),
      h('aside',
        h('section.card', h('h2', 'Variables'), vars),
        h('section.card', h('h2', 'Checkpoints'), checkpoints))));

  let inst: Instance;
  let diagram: Diagram | null = null;
  let diagramKey = '';
  let nodeFilter: string | null = null;
  let names = new Map<string, string>();
  let destroyed = false;

  const clearFilter = root.querySelector('.clear-filter') as HTMLButtonElement;
  clearFilter.addEventListener('click', () => { nodeFilter = null; renderHistory(); });

  const renderHistory = () => {
    const entries = (inst.executionHistory ?? []).filter((e) => !nodeFilter || e.nodeId === nodeFilter);
    clearFilter.hidden = !nodeFilter;
    clear(history, entries.length ? h('ol.timeline', entries.slice().reverse().map(historyItem)) : h('p.muted', nodeFilter ? `Nothing happened at ${nodeFilter} yet.` : 'No history.'));
  };
  const historyItem = (e: HistoryEntry) => h('li', { class: `act-${e.action}`, dataset: { node: e.nodeId, action: e.action } },
    h('time', { datetime: e.timestamp, title: when(e.timestamp) }, new Date(e.timestamp).toLocaleTimeString('en-GB')),
    h('span.act', e.action),
    h('span.node', e.nodeId ? (names.get(e.nodeId) ? `${names.get(e.nodeId)} ` : '') : 'instance',
      e.nodeId ? h('code', e.nodeId) : null, e.nodeType ? h('span.muted', ` ${e.nodeType}`) : null),
    e.actor ? h('span.actor', `by ${e.actor}`) : null,
    e.result !== undefined && e.result !== null ? h('details', h('summary', 'result'), jsonView(e.result)) : null);

  const render = async () => {
    if (destroyed) return;
    const key = `${inst.definitionId}@${inst.definitionVersion}`;
    if (key !== diagramKey) {
      diagramKey = key;
      diagram?.destroy();
      diagram = await diagramPanel(diagramHost, inst.definitionId, inst.definitionVersion);
      if (destroyed) { diagram?.destroy(); return; }
      if (diagram) {
        diagram.onClick((nodeId) => { nodeFilter = nodeId; renderHistory(); });
        names = diagram.names();
      }
    }
    clear(head,
      h('h1', inst.businessKey || 'Instance', ' ', h('span.mono.muted', inst.instanceId)),
      statusBadge(inst.status));
    clear(facts,
      h('dt', 'Process'), h('dd', h('a', { href: `#/definitions/${encodeURIComponent(inst.definitionId)}?version=${inst.definitionVersion}` }, `${inst.definitionId} v${inst.definitionVersion}`)),
      h('dt', 'Status'), h('dd', { id: 'instance-status', dataset: { status: inst.status } }, inst.status),
      h('dt', 'Waiting at'), h('dd', inst.currentNodeIds.length ? inst.currentNodeIds.map((n) => h('span.chip', names.get(n) ?? n)) : '—'),
      h('dt', 'Started'), h('dd', { title: when(inst.createdAt) }, relative(inst.createdAt)),
      h('dt', inst.endedAt ? 'Ended' : 'Updated'), h('dd', { title: when(inst.endedAt ?? inst.updatedAt) }, relative(inst.endedAt ?? inst.updatedAt)));
    renderActions();
    clear(incidents, (inst.incidents ?? []).map((i) => h('div.alert.alert-error.incident', { dataset: { incident: i.id, node: i.nodeId } },
      h('strong', `Incident at ${names.get(i.nodeId) ?? i.nodeId}`), ` (${i.kind}${i.attempts ? `, ${i.attempts} attempts` : ''}) `,
      h('div', i.message), h('div.small.muted', 'opened ', relative(i.createdAt)))));
    renderHistory();
    clear(vars, variablesTable(inst.processData ?? {}));
    clear(checkpoints, h('ol.checkpoints', (inst.checkpoints ?? []).slice().reverse().slice(0, 20).map((c) =>
      h('li', h('span.mono', `v${c.version}`), ' ', h('time', { title: when(c.timestamp) }, relative(c.timestamp)), c.status ? [' ', statusBadge(c.status)] : null))));

    diagram?.setState(diagramState(inst));
    diagramHost.dataset.status = inst.status;
    loadTasks();
  };

  const loadTasks = async () => {
    if (ENDED.has(inst.status)) { clear(tasks); return; }
    try {
      const open: Task[] = await api.tasks({ instanceId: inst.instanceId });
      clear(tasks, open.length ? [h('h3', 'Open tasks'), h('ul.plain', open.map((t) => h('li', { dataset: { taskId: t.id } },
        h('a', { href: `#/tasks/${encodeURIComponent(t.id)}` }, t.name || t.nodeId), ' ', dueBadge(t))))] : []);
    } catch { /* the rest of the page stands */ }
  };

  const renderActions = () => {
    clear(actions);
    if (!may('operator')) return;
    if (!ENDED.has(inst.status)) {
      actions.append(h('button#cancel-instance.danger', {
        type: 'button',
        onclick: async () => {
          if (!confirm(`Cancel instance ${inst.instanceId}? Its tasks and jobs are cancelled.`)) return;
          await command(() => api.cancel(inst.instanceId), 'The instance cannot be cancelled');
        },
      }, 'Cancel instance'));
    }
    if (inst.status === 'FAILED' || (inst.incidents ?? []).length) actions.append(recoverForm());
  };

  const recoverForm = () => {
    const action = h('select#recover-action', ['retry', 'skip', 'move'].map((a) => h('option', { value: a }, a)));
    const target = h('input#recover-target', { type: 'text', placeholder: 'target node id (move)' });
    const variables = h('textarea#recover-vars', { rows: 3, placeholder: '{"amount": 400} (optional)' });
    const incident = h('select#recover-incident', h('option', { value: '' }, 'every open incident'),
      (inst.incidents ?? []).map((i) => h('option', { value: i.id }, `${i.nodeId}: ${i.message.slice(0, 40)}`)));
    return h('form.recover', {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const body: Record<string, unknown> = { action: action.value };
        if (incident.value) body.incidentId = incident.value;
        if (action.value === 'move') body.target = target.value.trim();
        if (variables.value.trim()) {
          try { body.variables = JSON.parse(variables.value); } catch { msg.replaceChildren(h('div.alert.alert-error', 'Variables must be a JSON object.')); return; }
        }
        await command(() => api.recover(inst.instanceId, body), 'The instance cannot be recovered');
      },
    }, h('h3', 'Recover'), h('label', 'Incident ', incident), h('label', 'Action ', action), target, variables,
      h('button#recover-instance.primary', { type: 'submit' }, 'Recover'));
  };

  const command = async (f: () => Promise<Instance>, what: string) => {
    msg.replaceChildren();
    try {
      inst = await f();
      await render();
    } catch (err) {
      msg.replaceChildren(errorBox(err, what));
    }
  };

  const load = async () => {
    if (destroyed) return false;
    try {
      inst = await api.instance(id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) clear(root, h('div.alert.alert-error', `Instance ${id} does not exist.`));
      else msg.replaceChildren(errorBox(err, 'The instance cannot be loaded'));
      return false;
    }
    await render();
    return true;
  };

  // Subscribe before the first load: a change committed while the page
  // loads (a job finishing right after a task) must not be missed.
  const reload = debounce(load, 150);
  const off = subscribe((ev) => { if (ev.instanceId === id || ev.type === 'resync') reload(); });
  if (!(await load())) { off(); return; }
  return () => { destroyed = true; off(); diagram?.destroy(); };
}
