import { api, call, fill, findOperation, session, type Task } from '../api';
import { h, clear, relative, when, short, debounce } from '../dom';
import { subscribe } from '../events';
import { errorBox, takeFlash } from '../ui';
import { inboxKeysHelp } from './inboxkeys';

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

// The task inbox: tasks assigned to me, tasks of my groups (or offered to
// me by name), and — when the server does not say who I am, or on demand —
// every other open task the server shows me.
export async function inboxPage(root: HTMLElement) {
  const who = session.who();
  const showAll = h('input#show-all', { type: 'checkbox', checked: !who?.user && !who?.groups.length });
  const body = h('div.inbox');
  root.append(
    h('div.page-head',
      h('h1', 'Task inbox'),
      h('label.toggle', showAll, ' show every open task')),
    takeFlash(),
    body,
    h('p.small.muted.keys-help', inboxKeysHelp),
  );

  const claimOp = await findOperation(/^\/api\/runtime\/tasks\/\{[^}]+\}\/claim$/, 'post');
  const unclaimOp = await findOperation(/^\/api\/runtime\/tasks\/\{[^}]+\}\/unclaim$/, 'post');

  const load = async () => {
    let tasks: Task[];
    try {
      tasks = await api.tasks();
    } catch (err) {
      clear(body, errorBox(err, 'Tasks cannot be loaded'));
      return;
    }
    const mine: Task[] = [], groups: Task[] = [], others: Task[] = [];
    for (const t of tasks) {
      if (who?.user && t.assignee === who.user) mine.push(t);
      else if (!t.assignee && (t.candidateUsers?.includes(who?.user ?? '\u0000') || t.candidateGroups?.some((g) => who?.groups.includes(g)))) groups.push(t);
      else others.push(t);
    }
    const byDue = (a: Task, b: Task) => (a.dueAt ? Date.parse(a.dueAt) : Infinity) - (b.dueAt ? Date.parse(b.dueAt) : Infinity) || a.createdAt.localeCompare(b.createdAt);
    const sections: HTMLElement[] = [];
    if (who?.user || who?.groups.length) {
      sections.push(section('Assigned to me', 'mine', mine.sort(byDue), 'Nothing is assigned to you.'));
      sections.push(section(`My groups${who.groups.length ? ` (${who.groups.join(', ')})` : ''}`, 'groups', groups.sort(byDue), 'No open task for your groups.'));
      if (showAll.checked) sections.push(section('Other open tasks', 'others', others.sort(byDue), 'No other open task.'));
    } else {
      sections.push(section('Open tasks', 'all', tasks.sort(byDue), 'No open task. Start an instance from Definitions.'));
    }
    clear(body, sections);
  };

  const section = (title: string, key: string, tasks: Task[], empty: string) =>
    h('section.card', { dataset: { section: key } },
      h('h2', title, h('span.count', String(tasks.length))),
      tasks.length ? taskTable(tasks) : h('p.muted', empty));

  const taskTable = (tasks: Task[]) =>
    h('table.list.tasks',
      h('thead', h('tr', h('th', 'Task'), h('th', 'Process'), h('th', 'Candidates'), h('th', 'Due'), h('th', 'Created'), h('th', ''))),
      h('tbody', tasks.map((t) => h('tr', {
        class: `due-row-${dueState(t)}`,
        dataset: { taskId: t.id, taskName: t.name, instanceId: t.instanceId },
      },
        h('td', h('a.task-name', { href: `#/tasks/${encodeURIComponent(t.id)}` }, t.name || t.nodeId)),
        h('td', t.definitionId, h('br'), h('a.small', { href: `#/instances/${encodeURIComponent(t.instanceId)}`, title: t.instanceId }, short(t.instanceId, 12))),
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
  const reload = debounce(load, 300);
  const off = subscribe((ev) => {
    if (ev.type.startsWith('task.') || ev.type === 'resync' || ev.type === 'instance.completed' || ev.type === 'instance.cancelled' || ev.type === 'instance.updated') reload();
  });
  await load();
  return off;
}
