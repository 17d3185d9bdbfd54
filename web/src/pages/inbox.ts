import { api, call, fill, findOperation, session, type Task } from '../api';
import { h, clear, relative, when, short, debounce } from '../dom';
import { subscribe } from '../events';
import { errorBox, takeFlash } from '../ui';
import { inboxKeysHelp } from './inboxkeys';
import type { Ctx } from '../main';

const SOON_MS = 60 * 60 * 1000;

// dueState: overdue, soon (within an hour), later, or none.
export function dueState(t: Task, now = Date.now()): 'overdue' | 'soon' | 'later' | 'none' {
  if (!t.dueAt) return 'none';
  const due = Date.parse(t.dueAt);
  if (due < now) return 'overdue';
  return due - now < SOON_MS ? 'soon' : 'later';
}

export function dueBadge(t: Task): HTMLElement | null {
  const s = dueState(t);
  if (s === 'none') return h('span.muted', '—');
  const label = s === 'overdue' ? `overdue ${relative(t.dueAt)}` : `due ${relative(t.dueAt)}`;
  return h('span.due', { class: `due-${s}`, title: when(t.dueAt), dataset: { due: s } }, label);
}

// Sorts the inbox offers, as the API names them.
const SORTS: [string, string][] = [['due', 'Due'], ['created', 'Created'], ['priority', 'Priority'], ['name', 'Name']];

// The inbox's state, kept in the URL (#/inbox?view=&q=&sort=&order=) so
// that a link or a reload shows the same list.
interface InboxState { view: 'open' | 'completed'; q: string; sort: string; order: 'asc' | 'desc' }

function readState(query: URLSearchParams): InboxState {
  const sort = SORTS.some(([k]) => k === query.get('sort')) ? query.get('sort')! : 'due';
  return {
    view: query.get('view') === 'completed' ? 'completed' : 'open',
    q: query.get('q') ?? '',
    sort,
    order: query.get('order') === 'desc' ? 'desc' : 'asc',
  };
}

function stateURL(s: InboxState): string {
  const p = new URLSearchParams();
  if (s.view !== 'open') p.set('view', s.view);
  if (s.q) p.set('q', s.q);
  if (s.view === 'open' && s.sort !== 'due') p.set('sort', s.sort);
  if (s.view === 'open' && s.order !== 'asc') p.set('order', s.order);
  const q = p.toString();
  return '#/inbox' + (q ? '?' + q : '');
}

// columnText shows a column value: text as it is, other values as JSON.
function columnText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// context is a task's business key and its definition's task list
// columns.
function context(t: Task): HTMLElement {
  return h('td.small.task-context',
    t.businessKey ? h('span.chip.business-key', { title: 'Business key' }, t.businessKey) : null,
    (t.columns ?? []).map((c) => h('span.task-column', { dataset: { label: c.label } },
      h('span.muted', `${c.label}: `), h('span.value', columnText(c.value)))));
}

// The task inbox: tasks assigned to me, tasks of my groups (or offered to
// me by name), and — when the server does not say who I am, or on demand —
// every other open task the server shows me. Search and sort are the
// server's; "Completed by me" lists my finished tasks, newest first.
export async function inboxPage(root: HTMLElement, { query }: Ctx) {
  const who = session.who();
  const st = readState(query);
  const showAll = h('input#show-all', { type: 'checkbox', checked: !who?.user && !who?.groups.length });
  const search = h('input#task-search', { type: 'search', placeholder: 'Search task, business key, process', value: st.q, 'aria-label': 'Search tasks' });
  const sort = h('select#task-sort', { 'aria-label': 'Sort by' }, SORTS.map(([k, label]) => h('option', { value: k, selected: k === st.sort }, label)));
  const order = h('button#task-order', { type: 'button', title: 'Sort direction', dataset: { order: st.order } }, st.order === 'asc' ? '↑ ascending' : '↓ descending');
  const body = h('div.inbox');
  const tab = (view: InboxState['view'], label: string) =>
    h('a.tab', { href: stateURL({ ...st, view }), class: st.view === view ? 'active' : '', dataset: { view }, 'aria-current': st.view === view ? 'page' : undefined }, label);
  root.append(
    h('div.page-head',
      h('h1', 'Task inbox'),
      st.view === 'open' ? h('label.toggle', showAll, ' show every open task') : null),
    h('nav.tabs.inbox-views', tab('open', 'Open tasks'), who?.user ? tab('completed', 'Completed by me') : null),
    h('div.toolbar.inbox-tools', search, st.view === 'open' ? [h('label.small', { for: 'task-sort' }, 'Sort by '), sort, order] : null),
    takeFlash(),
    body,
    h('p.small.muted.keys-help', inboxKeysHelp),
  );

  const claimOp = await findOperation(/^\/api\/runtime\/tasks\/\{[^}]+\}\/claim$/, 'post');
  const unclaimOp = await findOperation(/^\/api\/runtime\/tasks\/\{[^}]+\}\/unclaim$/, 'post');

  // remember puts the state in the URL without leaving the page.
  const remember = () => history.replaceState(null, '', stateURL(st));

  // Loads can overlap (a sort changed while a search loads): only the
  // latest one may draw.
  let generation = 0;
  const load = async () => {
    const gen = ++generation;
    let tasks: Task[];
    try {
      tasks = st.view === 'completed'
        ? await api.tasks({ state: 'completed', completedBy: 'me', sort: 'completed', order: 'desc', q: st.q || undefined })
        : await api.tasks({ sort: st.sort, order: st.order, q: st.q || undefined });
    } catch (err) {
      if (gen === generation) clear(body, errorBox(err, 'Tasks cannot be loaded'));
      return;
    }
    if (gen !== generation) return;
    if (st.view === 'completed') {
      clear(body, h('section.card', { dataset: { section: 'completed' } },
        h('h2', 'Completed by me', h('span.count', String(tasks.length))),
        tasks.length ? doneTable(tasks) : h('p.muted', st.q ? 'No completed task matches the search.' : 'You have not completed any task yet.')));
      return;
    }
    const mine: Task[] = [], groups: Task[] = [], others: Task[] = [];
    for (const t of tasks) {
      if (who?.user && t.assignee === who.user) mine.push(t);
      else if (!t.assignee && (t.candidateUsers?.includes(who?.user ?? '\u0000') || t.candidateGroups?.some((g) => who?.groups.includes(g)))) groups.push(t);
      else others.push(t);
    }
    const none = st.q ? 'No task matches the search.' : null;
    const sections: HTMLElement[] = [];
    if (who?.user || who?.groups.length) {
      sections.push(section('Assigned to me', 'mine', mine, none ?? 'Nothing is assigned to you.'));
      sections.push(section(`My groups${who.groups.length ? ` (${who.groups.join(', ')})` : ''}`, 'groups', groups, none ?? 'No open task for your groups.'));
      if (showAll.checked) sections.push(section('Other open tasks', 'others', others, none ?? 'No other open task.'));
    } else {
      sections.push(section('Open tasks', 'all', tasks, none ?? 'No open task. Start an instance from Definitions.'));
    }
    clear(body, sections);
  };

  const section = (title: string, key: string, tasks: Task[], empty: string) =>
    h('section.card', { dataset: { section: key } },
      h('h2', title, h('span.count', String(tasks.length))),
      tasks.length ? taskTable(tasks) : h('p.muted', empty));

  const process = (t: Task) => h('td', t.processName || t.definitionId, h('br'),
    h('a.small', { href: `#/instances/${encodeURIComponent(t.instanceId)}`, title: t.instanceId }, short(t.instanceId, 12)));

  const doneTable = (tasks: Task[]) =>
    h('table.list.tasks.done',
      h('thead', h('tr', h('th', 'Task'), h('th', 'Process'), h('th', 'Details'), h('th', 'Completed'))),
      h('tbody', tasks.map((t) => h('tr', { dataset: { taskId: t.id, taskName: t.name, instanceId: t.instanceId } },
        h('td', h('a.task-name', { href: `#/tasks/${encodeURIComponent(t.id)}` }, t.name || t.nodeId)),
        process(t),
        context(t),
        h('td.small.completed-at', { title: when(t.completedAt) }, relative(t.completedAt))))));

  const taskTable = (tasks: Task[]) =>
    h('table.list.tasks',
      h('thead', h('tr', h('th', 'Task'), h('th', 'Process'), h('th', 'Details'), h('th', 'Candidates'), h('th', 'Due'), h('th', 'Created'), h('th', ''))),
      h('tbody', tasks.map((t) => h('tr', {
        class: `due-row-${dueState(t)}`,
        dataset: { taskId: t.id, taskName: t.name, instanceId: t.instanceId, priority: String(t.priority ?? '') },
      },
        h('td', h('a.task-name', { href: `#/tasks/${encodeURIComponent(t.id)}` }, t.name || t.nodeId),
          t.priority !== undefined && t.priority !== 50 ? h('span.chip.priority', { title: 'Priority (0–100, higher first)' }, `P${t.priority}`) : null),
        process(t),
        context(t),
        h('td.small', t.assignee ? h('span.assignee', '👤 ', t.assignee) : [
          ...(t.candidateGroups ?? []).map((g) => h('span.chip', g)),
          ...(t.candidateUsers ?? []).map((u) => h('span.chip.user', u)),
        ]),
        h('td', dueBadge(t)),
        h('td.small', { title: when(t.createdAt) }, relative(t.createdAt)),
        h('td.actions',
          claimOp && !t.assignee ? h('button.claim', { onclick: () => assign(claimOp, t, 'claimed') }, 'Claim') : null,
          unclaimOp && t.assignee && t.assignee === who?.user ? h('button.unclaim', { onclick: () => assign(unclaimOp, t, 'unclaimed') }, 'Unclaim') : null,
          h('a.button.primary.open-task', { href: `#/tasks/${encodeURIComponent(t.id)}` }, 'Open')),
      ))));

  const assign = async (op: { path: string; op: any }, t: Task, what: string) => {
    try {
      await call(fill(op.path, t.id), { method: 'POST', body: op.op.requestBody ? {} : undefined });
      await load();
    } catch (err) {
      body.prepend(errorBox(err, `Task “${t.name}” cannot be ${what}`));
    }
  };

  showAll.addEventListener('change', load);
  const searched = debounce(() => { st.q = search.value.trim(); remember(); load(); }, 250);
  search.addEventListener('input', searched);
  sort.addEventListener('change', () => { st.sort = sort.value; remember(); load(); });
  order.addEventListener('click', () => {
    st.order = st.order === 'asc' ? 'desc' : 'asc';
    order.dataset.order = st.order;
    order.textContent = st.order === 'asc' ? '↑ ascending' : '↓ descending';
    remember();
    load();
  });
  const reload = debounce(load, 300);
  const off = subscribe((ev) => {
    if (ev.type.startsWith('task.') || ev.type === 'resync' || ev.type === 'instance.completed' || ev.type === 'instance.cancelled' || ev.type === 'instance.updated') reload();
  });
  await load();
  return off;
}
