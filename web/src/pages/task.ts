import { ApiError, api, call, session, type Instance, type ProblemError, type Task } from '../api';
import { h, clear, relative, when } from '../dom';
import { subscribe } from '../events';
import { definitionXML, errorBox, flash, problemList, variablesTable } from '../ui';
import type { FormHandle } from '../form';
import type { Ctx } from '../main';
import { dueBadge } from './inbox';

interface ResolvedForm { schema: any; data: Record<string, unknown>; source: string }

// findTask looks the task up: GET /api/runtime/tasks/{id} where the server
// has it, else in the open task list.
async function findTask(id: string): Promise<Task | null> {
  try {
    const t: any = await call(`/api/runtime/tasks/${encodeURIComponent(id)}`);
    if (t && t.id === id) return t as Task;
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
  }
  for (const state of ['open', 'completed', 'cancelled']) {
    const t = (await api.tasks({ state })).find((x) => x.id === id);
    if (t) return { ...t, state: t.state ?? state };
  }
  return null;
}

// resolveForm finds the task's form: the server's form endpoint (form-js
// schema with the current values), else the form embedded in the
// definition's BPMN (zeebe:userTaskForm) with the instance's variables,
// else null (the page offers a key/value editor).
async function resolveForm(task: Task, inst: Instance): Promise<ResolvedForm | null> {
  try {
    const r: any = await call(`/api/runtime/tasks/${encodeURIComponent(task.id)}/form`);
    const schema = r?.schema ?? r?.form ?? (r?.components ? r : null);
    if (schema) return { schema, data: r?.data ?? r?.values ?? r?.variables ?? {}, source: 'server' };
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
  }
  const xml = await definitionXML(inst.definitionId, inst.definitionVersion);
  const schema = formFromBPMN(xml, task.nodeId);
  return schema ? { schema, data: inst.processData ?? {}, source: 'definition' } : null;
}

const ZEEBE = 'http://camunda.org/schema/zeebe/1.0';

// formFromBPMN finds the zeebe:userTaskForm that the user task's
// zeebe:formDefinition (or zeebe:formKey) points at.
export function formFromBPMN(xml: string, nodeId: string): any | null {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const node = [...doc.getElementsByTagNameNS('*', 'userTask')].find((e) => e.getAttribute('id') === nodeId);
  if (!node) return null;
  let key = '';
  for (const el of node.getElementsByTagNameNS(ZEEBE, 'formDefinition')) key ||= el.getAttribute('formKey') ?? '';
  for (const el of node.getElementsByTagNameNS(ZEEBE, 'formKey')) key ||= el.textContent?.trim() ?? '';
  const id = key.replace(/^camunda-forms:bpmn:/, '');
  if (!id) return null;
  const form = [...doc.getElementsByTagNameNS(ZEEBE, 'userTaskForm')].find((e) => e.getAttribute('id') === id);
  if (!form?.textContent) return null;
  try { return JSON.parse(form.textContent); } catch { return null; }
}

export async function taskPage(root: HTMLElement, { params }: Ctx) {
  const [id] = params;
  const head = h('div.page-head', h('h1', 'Task'));
  const body = h('div.task-body');
  root.append(h('p.crumbs', h('a', { href: '#/inbox' }, '← Task inbox')), head, body);

  let task: Task | null, inst: Instance;
  try {
    task = await findTask(id);
    if (!task) { clear(body, h('div.alert.alert-error', `Task ${id} does not exist.`)); return; }
    inst = await api.instance(task.instanceId);
  } catch (err) {
    clear(body, errorBox(err, 'The task cannot be loaded'));
    return;
  }

  clear(head,
    h('h1', task.name || task.nodeId),
    h('span.badge', { class: `task-${task.state ?? 'open'}`, dataset: { state: task.state ?? 'open' } }, task.state ?? 'open'));
  const who = session.who();
  const facts = h('dl.facts',
    h('dt', 'Process'), h('dd', h('a', { href: `#/definitions/${encodeURIComponent(inst.definitionId)}?version=${inst.definitionVersion}` }, `${inst.definitionId} v${inst.definitionVersion}`)),
    h('dt', 'Instance'), h('dd', h('a', { href: `#/instances/${encodeURIComponent(inst.instanceId)}` }, inst.instanceId), inst.businessKey ? ` · ${inst.businessKey}` : ''),
    h('dt', 'Candidates'), h('dd', task.assignee ? `assigned to ${task.assignee}` : [...(task.candidateGroups ?? []), ...(task.candidateUsers ?? [])].join(', ') || 'anyone'),
    h('dt', 'Due'), h('dd', dueBadge(task)),
    h('dt', 'Created'), h('dd', { title: when(task.createdAt) }, relative(task.createdAt)),
  );
  const formHost = h('div.form-host');
  const errors = h('div.form-errors', { 'aria-live': 'polite' });
  const submitBtn = h('button#submit-task.primary', { type: 'button' }, 'Complete task');
  const ctxVars = h('details.context', h('summary', 'Process variables'), variablesTable(inst.processData ?? {}));
  clear(body, h('div.task-grid',
    h('section.card.task-form', h('h2', 'Form'), formHost, errors, h('div.form-actions', submitBtn)),
    h('aside.card', facts, ctxVars)));

  if (task.state && task.state !== 'open') {
    formHost.replaceChildren(h('p.muted', `This task is ${task.state}.`));
    submitBtn.remove();
    return;
  }
  if (who?.user && task.assignee && task.assignee !== who.user) {
    errors.append(h('div.alert.alert-info', `This task is assigned to ${task.assignee}.`));
  }

  let handle: FormHandle | null = null;
  let kv: KeyValueEditor | null = null;
  try {
    const resolved = await resolveForm(task, inst);
    if (resolved) {
      const mod = await import('../form');
      handle = await mod.renderForm(formHost, resolved.schema, resolved.data);
      formHost.dataset.formSource = resolved.source;
      if (!asksForInput(resolved.schema)) formHost.prepend(h('p.muted.nothing-to-fill', 'This task asks for nothing: complete it when it is done.'));
    } else {
      kv = keyValueEditor(formHost);
      formHost.dataset.formSource = 'none';
    }
  } catch (err) {
    formHost.replaceChildren(errorBox(err, 'The form cannot be shown'));
    kv = keyValueEditor(formHost);
  }

  let busy = false;
  submitBtn.addEventListener('click', async () => {
    if (busy) return;
    errors.replaceChildren();
    let variables: Record<string, unknown>;
    if (handle) {
      const r = handle.submit();
      if (Object.keys(r.errors).length) {
        errors.append(h('div.alert.alert-error.client-invalid', { role: 'alert' }, 'Please correct the marked fields.'));
        return;
      }
      variables = r.data;
    } else {
      const r = kv!.read();
      if (r.errors.length) { errors.append(h('div.alert.alert-error', { role: 'alert' }, problemList(r.errors))); return; }
      variables = r.data;
    }
    busy = true;
    submitBtn.disabled = true;
    submitBtn.textContent = 'Completing…';
    try {
      await api.complete(task!.id, variables);
      flash(`Task “${task!.name || task!.nodeId}” completed.`);
      location.hash = `#/instances/${encodeURIComponent(inst.instanceId)}`;
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.problem.errors?.length) {
        const unmatched: ProblemError[] = handle ? handle.showServerErrors(err.problem.errors) : err.problem.errors;
        errors.append(h('div.alert.alert-error.server-invalid', { role: 'alert', dataset: { status: '422' } },
          h('strong', 'The server did not accept the form. '), err.problem.errors.length - unmatched.length ? 'See the marked fields.' : '',
          unmatched.length ? problemList(unmatched) : null));
      } else {
        errors.append(errorBox(err, 'The task cannot be completed'));
      }
    } finally {
      busy = false;
      submitBtn.disabled = false;
      submitBtn.textContent = 'Complete task';
    }
  });

  // If someone else completes or cancels the task meanwhile, say so.
  const off = subscribe(async (ev) => {
    if (ev.instanceId !== inst.instanceId && ev.type !== 'resync') return;
    if (busy) return;
    try {
      const now = await api.instance(inst.instanceId);
      if (!now.currentNodeIds.includes(task!.nodeId) && !errors.querySelector('.gone')) {
        errors.append(h('div.alert.alert-info.gone', 'This task is no longer open: the instance has moved on. ',
          h('a', { href: `#/instances/${encodeURIComponent(inst.instanceId)}` }, 'See the instance')));
        submitBtn.disabled = true;
      }
    } catch { /* transient */ }
  });
  return () => { off(); handle?.destroy(); };
}

// asksForInput tells whether a form-js schema has a field one can fill in.
function asksForInput(schema: any): boolean {
  const walk = (cs: any[]): boolean => (cs ?? []).some((c) =>
    (c?.key && !c.readonly && !c.disabled && !['text', 'html', 'image', 'button', 'spacer', 'separator'].includes(c.type)) || walk(c?.components));
  return walk(schema?.components);
}

interface KeyValueEditor { read(): { data: Record<string, unknown>; errors: ProblemError[] } }

// keyValueEditor is the form of a task without one: rows of name and
// value; a value that parses as JSON is sent as JSON, else as text.
function keyValueEditor(host: HTMLElement): KeyValueEditor {
  const rows = h('tbody');
  const add = (k = '', v = '') => rows.append(h('tr.kv-row',
    h('td', h('input.kv-key', { type: 'text', value: k, placeholder: 'name' })),
    h('td', h('input.kv-value', { type: 'text', value: v, placeholder: 'value (JSON or text)' })),
    h('td', h('button.link', { type: 'button', onclick: (e: Event) => (e.target as HTMLElement).closest('tr')!.remove() }, 'remove'))));
  add();
  host.append(
    h('p.muted', 'This task has no form. Enter the variables to submit.'),
    h('table.kv', h('thead', h('tr', h('th', 'Name'), h('th', 'Value'), h('th', ''))), rows),
    h('button.link', { type: 'button', onclick: () => add() }, '+ add a variable'));
  return {
    read() {
      const data: Record<string, unknown> = {};
      const errors: ProblemError[] = [];
      for (const tr of rows.querySelectorAll('tr')) {
        const k = (tr.querySelector('.kv-key') as HTMLInputElement).value.trim();
        const raw = (tr.querySelector('.kv-value') as HTMLInputElement).value;
        if (!k && !raw) continue;
        if (!/^[A-Za-z_$][\w$]*$/.test(k)) { errors.push({ location: k || '(empty)', message: 'is not a variable name' }); continue; }
        try { data[k] = JSON.parse(raw); } catch { data[k] = raw; }
      }
      return { data, errors };
    },
  };
}
