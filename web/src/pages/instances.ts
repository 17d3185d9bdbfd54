import { api, type InstanceSummary } from '../api';
import { h, clear, relative, when, statusBadge, debounce } from '../dom';
import { subscribe } from '../events';
import { errorBox } from '../ui';
import type { Ctx } from '../main';

const STATUSES = ['', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELLED'];

// Instances, filtered by status, definition and business key (the filters
// live in the URL so that a filtered list can be linked to).
export async function instancesPage(root: HTMLElement, { query }: Ctx) {
  const status = h('select#f-status', STATUSES.map((s) => h('option', { value: s, selected: query.get('status') === s }, s || 'any status')));
  const definition = h('select#f-definition', h('option', { value: '' }, 'any definition'));
  const businessKey = h('input#f-business-key', { type: 'search', placeholder: 'business key', value: query.get('businessKey') ?? '' });
  const list = h('div.instances');
  const more = h('button.more', { type: 'button', hidden: true }, 'Load more');
  root.append(
    h('div.page-head', h('h1', 'Instances')),
    h('form.filters', { onsubmit: (e: Event) => { e.preventDefault(); apply(); } },
      h('label', 'Status ', status), h('label', 'Definition ', definition), h('label', 'Business key ', businessKey),
      h('button', { type: 'submit' }, 'Filter')),
    list, more);

  api.definitions().then((defs) => {
    for (const d of defs) definition.append(h('option', { value: d.id, selected: query.get('definitionId') === d.id }, d.name ? `${d.name} (${d.id})` : d.id));
  }).catch(() => { /* the list still works */ });
  if (query.get('definitionId') && ![...definition.options].some((o) => o.value === query.get('definitionId'))) {
    definition.append(h('option', { value: query.get('definitionId')!, selected: true }, query.get('definitionId')!));
  }

  const apply = () => {
    const q = new URLSearchParams();
    if (status.value) q.set('status', status.value);
    if (definition.value) q.set('definitionId', definition.value);
    if (businessKey.value.trim()) q.set('businessKey', businessKey.value.trim());
    location.hash = `#/instances${q.toString() ? '?' + q : ''}`;
  };
  status.addEventListener('change', apply);
  definition.addEventListener('change', apply);

  const filter = {
    status: query.get('status') || undefined,
    definitionId: query.get('definitionId') || undefined,
    businessKey: query.get('businessKey') || undefined,
  };
  let rows: InstanceSummary[] = [];
  let next: string | undefined;

  const render = () => {
    if (!rows.length) { clear(list, h('p.muted.card', 'No instance matches.')); return; }
    clear(list, h('table.list.card',
      h('thead', h('tr', h('th', 'Instance'), h('th', 'Definition'), h('th', 'Business key'), h('th', 'Status'), h('th', 'Started'), h('th', 'Updated'))),
      h('tbody', rows.map((i) => h('tr', { dataset: { instanceId: i.instanceId, status: i.status } },
        h('td', h('a.mono', { href: `#/instances/${encodeURIComponent(i.instanceId)}` }, i.instanceId)),
        h('td', h('a', { href: `#/definitions/${encodeURIComponent(i.definitionId)}?version=${i.definitionVersion}` }, i.definitionId), h('span.muted', ` v${i.definitionVersion}`)),
        h('td', i.businessKey ?? ''),
        h('td', statusBadge(i.status)),
        h('td.small', { title: when(i.createdAt) }, relative(i.createdAt)),
        h('td.small', { title: when(i.updatedAt) }, relative(i.updatedAt)))))));
    more.hidden = !next;
  };

  const load = async (reset: boolean) => {
    try {
      // A refresh reloads as many pages as are shown.
      const want = reset ? 0 : rows.length;
      const out: InstanceSummary[] = [];
      let after: string | undefined;
      do {
        const page = await api.instances(filter, after);
        out.push(...page.instances);
        after = page.next;
      } while (after && out.length < want);
      rows = out;
      next = after;
      render();
    } catch (err) {
      clear(list, errorBox(err, 'Instances cannot be loaded'));
    }
  };
  more.addEventListener('click', async () => {
    if (!next) return;
    try {
      const page = await api.instances(filter, next);
      rows.push(...page.instances);
      next = page.next;
      render();
    } catch (err) { list.append(errorBox(err)); }
  });

  const refresh = debounce(() => load(false), 500);
  const off = subscribe((ev) => { if (ev.type.startsWith('instance.') || ev.type === 'resync' || ev.type === 'incident.opened') refresh(); });
  await load(true);
  return off;
}
