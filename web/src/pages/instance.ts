import { ApiError, api, may, offers, type Advice, type DecisionRecord, type HistoryEntry, type Incident, type Instance, type InstanceJob, type Task } from '../api';
import { h, clear, relative, when, statusBadge, debounce } from '../dom';
import { subscribe } from '../events';
import { diagramPanel, errorBox, jsonView, takeFlash, variablesTable } from '../ui';
import type { Diagram, DiagramState } from '../diagram';
import type { Ctx } from '../main';
import { dueBadge } from './inbox';
import { adviceView, decisionsTable } from './decisions';
import { callLinks, migratePanel, modifyPanel } from './instanceops';

const ENDED = new Set(['COMPLETED', 'CANCELLED']);

// Advice is asked for after an incident opens, and storing it sends no
// event: while a job incident younger than this has none, the page looks
// again every ADVICE_POLL_MS.
const ADVICE_WAIT_MS = 60_000;
const ADVICE_POLL_MS = 2_000;

// diagramState derives the diagram's markers from the instance: tokens on
// currentNodeIds, completed nodes and taken flows from the history, open
// incidents on their node.
export function diagramState(inst: Instance): DiagramState {
  const completed: string[] = [], taken: string[] = [], skipped: string[] = [], moved: string[] = [];
  // A node an operator skipped completes right after its "resolved"
  // entry says so: it is drawn as skipped, not as run.
  const skipping = new Set<string>();
  for (const e of inst.executionHistory ?? []) {
    if (!e.nodeId) continue;
    const r = e.result as Record<string, unknown> | undefined;
    if (e.action === 'taken') taken.push(e.nodeId);
    else if (e.action === 'resolved' && r && r.skipped === true) skipping.add(e.nodeId);
    else if (e.action === 'moved') moved.push(e.nodeId);
    else if (e.action === 'completed' && skipping.has(e.nodeId)) { skipping.delete(e.nodeId); skipped.push(e.nodeId); }
    else if (e.action === 'completed' || e.action === 'terminated' || e.action === 'fired') completed.push(e.nodeId);
  }
  return {
    current: inst.currentNodeIds ?? [],
    completed: completed.filter((n) => !skipped.includes(n)),
    skipped,
    moved,
    taken,
    history: inst.executionHistory ?? [],
    incidents: (inst.incidents ?? []).filter((i) => i.state !== 'resolved').map((i) => ({ nodeId: i.nodeId, message: `${i.kind}: ${i.message}` })),
  };
}

export async function instancePage(root: HTMLElement, { params }: Ctx) {
  const [id] = params;
  const head = h('div.page-head', h('h1', 'Instance'));
  const actions = h('div.instance-actions');
  const ops = h('div.ops-host');
  const calls = h('div.calls-host');
  const facts = h('dl.facts');
  const diagramHost = h('div.diagram-host');
  const incidents = h('div.incidents');
  const tasks = h('div.open-tasks');
  const history = h('div.history');
  const vars = h('div.variables');
  const varsEdit = h('button.link#edit-variables', { type: 'button', hidden: true }, 'Edit');
  const jobs = h('div.jobs');
  const checkpoints = h('div.checkpoints');
  const decisions = h('div.decisions-host');
  const decisionsCount = h('span.count', { hidden: true });
  const decisionsCard = h('section.card.decisions-card', { hidden: true },
    h('h2', 'Decisions ', decisionsCount),
    h('p.small.muted', 'The LLM calls of this instance, recorded before their answers were used. Click a row for its request and raw response.'),
    decisions);
  const msg = h('div.msg');
  root.append(
    h('p.crumbs', h('a', { href: '#/instances' }, '← Instances')),
    head, takeFlash(), msg,
    h('div.instance-grid',
      h('section.card.diagram-card', diagramHost, incidents),
      h('aside.card', facts, calls, actions, ops, tasks)),
    h('div.instance-grid.lower',
      h('section.card', h('h2', 'History', h('button.link.clear-filter', { type: 'button', hidden: true }, 'show all')), history),
      h('aside',
        h('section.card', h('h2', 'Variables ', varsEdit), vars),
        h('section.card.jobs-card', h('h2', 'Jobs'), jobs),
        h('section.card', h('h2', 'Checkpoints'), checkpoints))),
    decisionsCard);

  let inst: Instance;
  let diagram: Diagram | null = null;
  let diagramKey = '';
  let nodeFilter: string | null = null;
  let names = new Map<string, string>();
  let destroyed = false;
  // LLM parts, where the server has them.
  const hasDecisions = offers(/^\/api\/runtime\/instances?\/\{[^}]+\}\/decisions$/, 'get');
  const hasAdvice = offers(/^\/api\/runtime\/incidents\/\{[^}]+\}\/apply-advice$/, 'post');
  let adviceSeq = 0, decisionsSeq = 0; // the latest load wins
  const expanded = new Set<string>();
  const advice = new Map<string, Advice>();
  let advicePoll: number | undefined;

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
    clear(calls, callLinks(inst, names));
    renderActions();
    renderIncidents();
    renderHistory();
    if (!editing) clear(vars, variablesTable(inst.processData ?? {}));
    varsEdit.hidden = editing || ENDED.has(inst.status) || !may('operator');
    clear(checkpoints, h('ol.checkpoints', (inst.checkpoints ?? []).slice().reverse().slice(0, 20).map((c) =>
      h('li', h('span.mono', `v${c.version}`), ' ', h('time', { title: when(c.timestamp) }, relative(c.timestamp)), c.status ? [' ', statusBadge(c.status)] : null))));

    diagram?.setState({ ...diagramState(inst), links: (inst.children ?? []).map((c) => ({
      nodeId: c.nodeId, href: `#/instances/${encodeURIComponent(c.instanceId)}`, title: `called instance ${c.instanceId} (${c.status ?? ''})`, status: c.status })) });
    diagramHost.dataset.status = inst.status;
    loadTasks();
    loadJobs();
    loadAdvice();
    loadDecisions();
  };

  const renderIncidents = () => {
    clear(incidents, (inst.incidents ?? []).map((i) => h('div.alert.alert-error.incident', { dataset: { incident: i.id, node: i.nodeId } },
      h('strong', `Incident at ${names.get(i.nodeId) ?? i.nodeId}`), ` (${i.kind}${i.attempts ? `, ${i.attempts} attempts` : ''}) `,
      h('div', i.message), h('div.small.muted', 'opened ', relative(i.createdAt)),
      advice.has(i.id) ? adviceView(advice.get(i.id)!, applyButton(i, advice.get(i.id)!)) : null)));
  };

  const applyButton = (i: Incident, a: Advice) => {
    if (!may('operator') || a.action === 'escalate' || i.state === 'resolved') return null;
    return h('button.primary.apply-advice', {
      type: 'button',
      dataset: { incident: i.id },
      onclick: async (e: Event) => {
        (e.currentTarget as HTMLButtonElement).disabled = true;
        await command(() => api.applyAdvice(i.id), 'The advice cannot be applied');
      },
    }, 'Apply advice');
  };

  // loadAdvice reads the open incidents' advice (the instance document's
  // incidents do not carry it).
  const loadAdvice = async () => {
    const open = (inst.incidents ?? []).filter((i) => i.state !== 'resolved');
    if (advicePoll !== undefined) { clearTimeout(advicePoll); advicePoll = undefined; }
    if (!open.length || !(await hasAdvice)) { if (advice.size) { advice.clear(); renderIncidents(); } return; }
    const seq = ++adviceSeq;
    let listed: Incident[];
    try {
      listed = await api.incidents({ instanceId: inst.instanceId, state: 'open' });
    } catch { return; /* the incidents stand without advice */ }
    if (destroyed || seq !== adviceSeq) return;
    advice.clear();
    for (const i of listed) if (i.advice && typeof i.advice === 'object' && typeof i.advice.action === 'string') advice.set(i.id, i.advice);
    renderIncidents();
    const waiting = open.some((i) => i.kind === 'job' && !advice.has(i.id) && Date.now() - Date.parse(i.createdAt) < ADVICE_WAIT_MS);
    if (waiting && !destroyed) advicePoll = window.setTimeout(() => { advicePoll = undefined; loadAdvice(); loadDecisions(); }, ADVICE_POLL_MS);
  };

  const loadDecisions = async () => {
    if (!(await hasDecisions) || destroyed) return;
    const seq = ++decisionsSeq;
    let records: DecisionRecord[];
    try {
      records = await api.decisions(inst.instanceId);
    } catch (err) {
      if (seq !== decisionsSeq) return;
      // A server without the endpoint: no section.
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) { decisionsCard.hidden = true; return; }
      decisionsCard.hidden = false;
      clear(decisions, errorBox(err, 'The decisions cannot be loaded'));
      return;
    }
    if (destroyed || seq !== decisionsSeq) return;
    decisionsCard.hidden = false;
    decisionsCount.hidden = !records.length;
    decisionsCount.textContent = String(records.length);
    clear(decisions, decisionsTable(records, names, expanded));
  };

  // The variables editor: the whole set as JSON; saving sends the
  // variables whose value changed or that are new.
  let editing = false;
  varsEdit.addEventListener('click', () => {
    editing = true;
    varsEdit.hidden = true;
    const current = inst.processData ?? {};
    const text = h('textarea#variables-json', { rows: 10, spellcheck: 'false' }, JSON.stringify(current, null, 2));
    const problem = h('div.form-errors');
    const done = () => { editing = false; render(); };
    clear(vars, h('form.edit-vars', {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        let next: unknown;
        try { next = JSON.parse(text.value); } catch (err) { clear(problem, h('div.alert.alert-error', `Not JSON: ${(err as Error).message}`)); return; }
        if (!next || typeof next !== 'object' || Array.isArray(next)) { clear(problem, h('div.alert.alert-error', 'The variables must be a JSON object.')); return; }
        const gone = Object.keys(current).filter((k) => !(k in (next as object)));
        if (gone.length) { clear(problem, h('div.alert.alert-error', `Variables cannot be removed here: ${gone.join(', ')}.`)); return; }
        const changed: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(next as Record<string, unknown>)) if (JSON.stringify(v) !== JSON.stringify(current[k])) changed[k] = v;
        if (!Object.keys(changed).length) { done(); return; }
        try {
          inst = await api.setVariables(inst.instanceId, changed);
          done();
        } catch (err) { clear(problem, errorBox(err, 'The variables cannot be changed')); }
      },
    }, h('p.small.muted', 'Change values or add variables; the history records what you set.'), text, problem,
      h('div.form-actions', h('button.primary#save-variables', { type: 'submit' }, 'Save'), ' ', h('button#cancel-variables', { type: 'button', onclick: done }, 'Cancel'))));
  });

  // loadJobs shows the jobs still to run or that failed, with their
  // retries; the completed ones are counted.
  const loadJobs = async () => {
    let all: InstanceJob[];
    try { all = await api.jobs(inst.instanceId); } catch (err) { clear(jobs, errorBox(err, 'The jobs cannot be loaded')); return; }
    if (destroyed) return;
    const live = all.filter((j) => j.state !== 'completed' && j.state !== 'cancelled');
    const finished = all.length - live.length;
    clear(jobs,
      live.length ? h('table.list.job-list', h('tbody', live.map((j) => h('tr', { dataset: { jobId: j.id, state: j.state, node: j.nodeId } },
        h('td', h('strong', names.get(j.nodeId) ?? j.nodeId), h('div.small.muted', j.kind, j.taskType ? ` · ${j.taskType}` : ''),
          j.lastError ? h('div.small.job-error', j.lastError) : null),
        h('td.small', h('span.badge', { class: `job-${j.state}` }, j.state),
          h('div.job-attempts', `attempt ${j.attempts}${j.maxAttempts ? ` of ${j.maxAttempts}` : ''}`),
          j.nextAttemptAt ? h('div.job-next', { title: when(j.nextAttemptAt) }, j.attempts ? 'retry ' : 'runs ', relative(j.nextAttemptAt)) : null,
          j.leaseUntil ? h('div', { title: when(j.leaseUntil) }, 'running, lease ', relative(j.leaseUntil)) : null))))) : h('p.muted', 'No job to run.'),
      finished ? h('p.small.muted', `${finished} finished.`) : null);
  };

  const loadTasks = async () => {
    if (ENDED.has(inst.status)) { clear(tasks); return; }
    try {
      const open: Task[] = await api.tasks({ instanceId: inst.instanceId });
      clear(tasks, open.length ? [h('h3', 'Open tasks'), h('ul.plain', open.map((t) => h('li', { dataset: { taskId: t.id } },
        h('a', { href: `#/tasks/${encodeURIComponent(t.id)}` }, t.name || t.nodeId), ' ', dueBadge(t))))] : []);
    } catch { /* the rest of the page stands */ }
  };

  // The modify and migrate panels stay open across reloads (events)
  // until closed or the instance ends.
  let panel: 'modify' | 'migrate' | null = null;
  const opsHost = {
    inst: () => inst, names: () => names, nodes: () => diagram?.nodes() ?? [],
    run: (f: () => Promise<Instance>, what: string, where?: HTMLElement) => command(f, what, where),
  };
  const openPanel = (p: typeof panel) => {
    panel = p;
    const close = () => openPanel(null);
    clear(ops, p === 'modify' ? modifyPanel(opsHost, close) : p === 'migrate' ? migratePanel(opsHost, close) : null);
    renderActions();
  };
  const renderActions = () => {
    clear(actions);
    if (!may('operator')) return;
    if (ENDED.has(inst.status) && panel) { panel = null; clear(ops); }
    if (!ENDED.has(inst.status)) {
      actions.append(
        h('button#modify-instance', { type: 'button', class: panel === 'modify' ? 'active' : '', onclick: () => openPanel(panel === 'modify' ? null : 'modify'),
          title: 'Cancel tokens, start tokens at other nodes, set variables' }, 'Modify'),
        h('button#migrate-instance', { type: 'button', class: panel === 'migrate' ? 'active' : '', onclick: () => openPanel(panel === 'migrate' ? null : 'migrate'),
          title: 'Move this instance to another version of its definition' }, 'Migrate to version'));
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
        if (action.value !== 'retry') {
          const where = incident.value ? (inst.incidents ?? []).find((i) => i.id === incident.value)?.nodeId : (inst.incidents ?? []).map((i) => i.nodeId).join(', ');
          const ask = action.value === 'skip'
            ? `Skip ${where}? It completes without running, and the instance goes on as if it had.`
            : `Move the token from ${where} to ${target.value.trim() || '(no target)'}? The failed node does not run.`;
          if (!confirm(ask)) return;
        }
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

  // command runs a change; its error shows at the top, or where given
  // (the panel that sent it).
  const command = async (f: () => Promise<Instance>, what: string, where: HTMLElement = msg): Promise<boolean> => {
    msg.replaceChildren();
    if (where !== msg) where.replaceChildren();
    try {
      inst = await f();
      await render();
      return true;
    } catch (err) {
      where.replaceChildren(errorBox(err, what));
      return false;
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
  return () => { destroyed = true; off(); diagram?.destroy(); if (advicePoll !== undefined) clearTimeout(advicePoll); };
}
