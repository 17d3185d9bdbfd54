import { ApiError, api, may, type Definition } from '../api';
import { h, clear, relative, when } from '../dom';
import { errorBox, problemList, takeFlash } from '../ui';

// Definitions: the latest version of each, and deployment by file upload
// (workflow JSON or BPMN 2.0 XML).
export async function definitionsPage(root: HTMLElement) {
  const list = h('div.definitions');
  const file = h('input#deploy-file', { type: 'file', accept: '.json,.bpmn,.xml,application/json,application/xml,text/xml' });
  const result = h('div.deploy-result', { 'aria-live': 'polite' });
  const deployBtn = h('button#deploy.primary', { type: 'submit' }, 'Deploy');
  root.append(
    h('div.page-head', h('h1', 'Definitions')),
    takeFlash(),
    may('admin') ? h('section.card.deploy',
      h('h2', 'Deploy a workflow'),
      h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const f = file.files?.[0];
          if (!f) { result.replaceChildren(h('div.alert.alert-error', 'Choose a .json or .bpmn file first.')); return; }
          deployBtn.disabled = true;
          result.replaceChildren(h('span.muted', `Deploying ${f.name}…`));
          try {
            const r = await api.deploy(f);
            result.replaceChildren(h('div.alert.alert-ok', { role: 'status' },
              r.created ? `Deployed ${r.id} version ${r.version}. ` : `${r.id} version ${r.version} has exactly this content already; nothing changed. `,
              h('a', { href: `#/definitions/${encodeURIComponent(r.id)}?version=${r.version}` }, 'Open it')));
            file.value = '';
            await load();
          } catch (err) {
            if (err instanceof ApiError && err.problem.errors?.length) {
              result.replaceChildren(h('div.alert.alert-error', { role: 'alert' },
                h('strong', `${f.name} cannot be deployed: `), err.problem.detail ?? '', problemList(err.problem.errors)));
            } else result.replaceChildren(errorBox(err, `${f.name} cannot be deployed`));
          } finally {
            deployBtn.disabled = false;
          }
        },
      }, file, deployBtn),
      h('p.muted.small', 'Deploying an id again with different content makes a new version; running instances stay on theirs.'),
      result) : h("div"),
    list);

  const load = async () => {
    let defs: Definition[];
    try { defs = await api.definitions(); } catch (err) { clear(list, errorBox(err, 'Definitions cannot be loaded')); return; }
    if (!defs.length) { clear(list, h('p.muted.card', 'Nothing is deployed yet.')); return; }
    clear(list, h('table.list.card',
      h('thead', h('tr', h('th', 'Definition'), h('th', 'Name'), h('th', 'Latest'), h('th', 'Format'), h('th', 'Deployed'), h('th', ''))),
      h('tbody', defs.map((d) => h('tr', { dataset: { definitionId: d.id } },
        h('td', h('a.mono', { href: `#/definitions/${encodeURIComponent(d.id)}` }, d.id)),
        h('td', d.name),
        h('td', `v${d.version}`),
        h('td', h('span.chip', d.format)),
        h('td.small', { title: when(d.deployedAt) }, relative(d.deployedAt), d.deployedBy ? h('span.muted', ` by ${d.deployedBy}`) : null),
        h('td.actions', h('a.button', { href: `#/instances?definitionId=${encodeURIComponent(d.id)}` }, 'Instances')))))));
  };
  await load();
}
