import { api, may, type Definition } from '../api';
import { h, clear, relative, when } from '../dom';
import { diagramPanel, errorBox } from '../ui';
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
        may('operator') && h('section.card',
          h('h2', 'Start an instance'),
          h('form.start', {
            onsubmit: async (e: Event) => {
              e.preventDefault();
              let vars: Record<string, unknown> = {};
              if (variables.value.trim()) {
                try { vars = JSON.parse(variables.value); } catch { startMsg.replaceChildren(h('div.alert.alert-error', 'Variables must be a JSON object.')); return; }
              }
              try {
                const inst = await api.start(id, vars, businessKey.value.trim(), def.version);
                location.hash = `#/instances/${encodeURIComponent(inst.instanceId)}`;
              } catch (err) { startMsg.replaceChildren(errorBox(err, 'The instance cannot be started')); }
            },
          },
            h('label', { for: 'start-business-key' }, 'Business key'), businessKey,
            h('label', { for: 'start-vars' }, 'Variables (JSON)'), variables,
            h('button#start.primary', { type: 'submit' }, `Start v${def.version}`)),
          startMsg))));

  let diagram: Diagram | null = await diagramPanel(diagramHost, def.id, def.version);
  return () => { diagram?.destroy(); diagram = null; };
}
