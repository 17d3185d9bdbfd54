import { ApiError, api, may, type Definition, type ProblemError } from '../api';
import { h, clear, relative, when } from '../dom';
import { diagramPanel, errorBox, problemList } from '../ui';
import type { FormHandle } from '../form';
import type { Diagram } from '../diagram';
import type { Ctx } from '../main';

// One definition: its versions, the diagram of the chosen one, and a form
// to start an instance of it.
export async function definitionPage(root: HTMLElement, { params, query }: Ctx) {
  const [id] = params;
  let versions: Definition[];
  try {
    versions = await api.versions(id);
  } catch (err) {
    root.append(h('p.crumbs', h('a', { href: '#/definitions' }, '← Definitions')), errorBox(err, `Definition ${id} cannot be loaded`));
    return;
  }
  const wanted = Number(query.get('version')) || versions[versions.length - 1]?.version;
  const def = versions.find((v) => v.version === wanted) ?? versions[versions.length - 1];
  const diagramHost = h('div.diagram-host');
  const startMsg = h('div.msg');
  const businessKey = h('input#start-business-key', { type: 'text', placeholder: 'optional' });
  const variables = h('textarea#start-vars', { rows: 5, placeholder: '{"amount": 20000}' });
  // With a start form, form-js renders it and the raw JSON is folded away
  // as a fallback; without one, the raw JSON is the form.
  const formHost = h('div.start-form-host');
  const rawToggle = h('details.start-raw', h('summary.small', 'Variables as raw JSON instead'));
  const rawBox = h('div.start-raw-box', h('label', { for: 'start-vars' }, 'Variables (JSON)'), variables);
  let handle: FormHandle | null = null;

  const submit = async () => {
    startMsg.replaceChildren();
    let vars: Record<string, unknown> = {};
    const raw = !handle || (rawToggle as HTMLDetailsElement).open;
    if (raw && variables.value.trim()) {
      try { vars = JSON.parse(variables.value); } catch { startMsg.replaceChildren(h('div.alert.alert-error', 'Variables must be a JSON object.')); return; }
    } else if (!raw && handle) {
      const r = handle.submit();
      if (Object.keys(r.errors).length) { startMsg.replaceChildren(h('div.alert.alert-error.client-invalid', { role: 'alert' }, 'Please correct the marked fields.')); return; }
      vars = r.data;
    }
    try {
      const inst = await api.start(id, vars, businessKey.value.trim(), def.version);
      location.hash = `#/instances/${encodeURIComponent(inst.instanceId)}`;
    } catch (err) {
      if (handle && !raw && err instanceof ApiError && err.status === 422 && err.problem.errors?.length) {
        const unmatched: ProblemError[] = handle.showServerErrors(err.problem.errors);
        startMsg.replaceChildren(h('div.alert.alert-error.server-invalid', { role: 'alert' },
          h('strong', 'The server did not accept the form. '), unmatched.length ? problemList(unmatched) : 'See the marked fields.'));
      } else startMsg.replaceChildren(errorBox(err, 'The instance cannot be started'));
    }
  };

  root.append(
    h('p.crumbs', h('a', { href: '#/definitions' }, '← Definitions')),
    h('div.page-head', h('h1', def.name || def.id, ' ', h('span.muted', `v${def.version}`)),
      h('a.button', { href: `#/instances?definitionId=${encodeURIComponent(id)}` }, 'Instances')),
    h('div.instance-grid',
      h('section.card.diagram-card', diagramHost),
      h('aside',
        h('section.card',
          h('h2', 'Versions'),
          h('table.list.versions', h('tbody', versions.slice().reverse().map((v) => h('tr', { class: v.version === def.version ? 'selected' : '' },
            h('td', h('a', { href: `#/definitions/${encodeURIComponent(id)}?version=${v.version}` }, `v${v.version}`)),
            h('td', h('span.chip', v.format)),
            h('td.small', { title: when(v.deployedAt) }, relative(v.deployedAt)),
            h('td.small.mono', { title: v.hash }, v.hash.slice(0, 8))))))),
        may('operator') && h('section.card.start-card',
          h('h2', 'Start an instance'),
          h('form.start', { onsubmit: (e: Event) => { e.preventDefault(); submit(); } },
            h('label', { for: 'start-business-key' }, 'Business key'), businessKey,
            formHost,
            rawBox,
            h('button#start.primary', { type: 'submit' }, `Start v${def.version}`)),
          startMsg))));

  if (may('operator')) {
    try {
      const sf = await api.startForm(id, def.version);
      if (sf) {
        const mod = await import('../form');
        handle = await mod.renderForm(formHost, sf.form, sf.data ?? {});
        formHost.dataset.formSource = sf.source;
        formHost.addEventListener('input', () => startMsg.querySelector('.client-invalid')?.remove());
        rawBox.replaceWith(rawToggle);
        rawToggle.append(rawBox);
      }
    } catch (err) {
      formHost.replaceChildren(errorBox(err, 'The start form cannot be shown; use raw JSON'));
    }
  }

  let diagram: Diagram | null = await diagramPanel(diagramHost, def.id, def.version);
  return () => { diagram?.destroy(); diagram = null; handle?.destroy(); handle = null; };
}
