import { api, may, type InstanceList } from '../api';
import { h, clear, relative, when, statusBadge, debounce } from '../dom';
import { subscribe } from '../events';
import { errorBox } from '../ui';
import type { Ctx } from '../main';
import { batchBar } from './batchbar';

const STATUSES = ['', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const PAGE = 50;

// The columns, each sortable by the API field it shows.
const COLUMNS: [string, string][] = [
  ['id', 'Instance'], ['definitionId', 'Definition'], ['businessKey', 'Business key'], ['status', 'Status'],
  ['createdAt', 'Started'], ['updatedAt', 'Updated'], ['endedAt', 'Ended'],
];

// The URL's query is the page's whole state: the filters as the user
// wrote them (dates as days), the sort and the page cursor, so that any
// view can be linked to, reloaded and gone back to.
const KEYS = ['definitionId', 'definitionVersion', 'status', 'businessKeyPrefix', 'businessKey', 'startedFrom', 'startedTo',
  'endedFrom', 'endedTo', 'incident', 'error', 'var', 'sort', 'order', 'after'];

// dayStart is the local midnight starting an yyyy-mm-dd day, as RFC 3339.
function dayStart(day: string, plus = 0): string | undefined {
  const d = new Date(`${day}T00:00:00`);
  if (Number.isNaN(d.getTime())) return undefined;
  d.setDate(d.getDate() + plus);
  return d.toISOString();
}

// apiQuery turns the page's query into the API's: a "to" day is
// inclusive, so it becomes "before the next day".
export function apiQuery(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of ['definitionId', 'definitionVersion', 'status', 'businessKeyPrefix', 'businessKey', 'incident', 'error', 'sort', 'order', 'after']) {
    const v = q.get(k);
    if (v) out.set(k, v);
  }
  const days: [string, string, number][] = [['startedFrom', 'startedFrom', 0], ['startedTo', 'startedBefore', 1], ['endedFrom', 'endedFrom', 0], ['endedTo', 'endedBefore', 1]];
  for (const [from, to, plus] of days) {
    const v = q.get(from);
    const t = v ? dayStart(v, plus) : undefined;
    if (t) out.set(to, t);
  }
  for (const v of q.getAll('var')) if (v.trim()) out.append('var', v.trim());
  out.set('limit', String(PAGE));
  return out;
}

export async function instancesPage(root: HTMLElement, { query }: Ctx) {
  const val = (k: string) => query.get(k) ?? '';
  const status = h('select#f-status', STATUSES.map((s) => h('option', { value: s, selected: val('status') === s }, s || 'any status')));
  const definition = h('select#f-definition', h('option', { value: '' }, 'any definition'));
  const version = h('input#f-version', { type: 'number', min: 1, placeholder: 'any', value: val('definitionVersion'), size: 4 });
  const businessKey = h('input#f-business-key', { type: 'search', placeholder: 'starts with…', value: val('businessKeyPrefix') });
  const startedFrom = h('input#f-started-from', { type: 'date', value: val('startedFrom') });
  const startedTo = h('input#f-started-to', { type: 'date', value: val('startedTo') });
  const endedFrom = h('input#f-ended-from', { type: 'date', value: val('endedFrom') });
  const endedTo = h('input#f-ended-to', { type: 'date', value: val('endedTo') });
  const incident = h('select#f-incident',
    h('option', { value: '', selected: !val('incident') }, 'any'),
    h('option', { value: 'true', selected: val('incident') === 'true' }, 'open incident'),
    h('option', { value: 'false', selected: val('incident') === 'false' }, 'no open incident'));
  const errorText = h('input#f-error', { type: 'search', placeholder: 'text in the incident', value: val('error') });
  const vars = h('textarea#f-vars', { rows: 2, placeholder: 'amount > 1000\ncustomer.id = "C-7"', spellcheck: 'false' }, query.getAll('var').join('\n'));
  const total = h('span#instances-total.count', { 'aria-live': 'polite' }, '…');
  const list = h('div.instances');
  const pager = h('nav.pager');
  // The selection for batch operations (operators): ticked rows by id
  // with their definition, or every instance matching the filter.
  const operate = may('operator');
  const selected = new Map<string, string>();
  let allMatching = false;
  const bar = batchBar(apiQuery(query), {
    ids: () => [...selected.keys()], all: () => allMatching, definitions: () => [...selected.values()],
  });
  const selectAll = h('div.select-all', { hidden: true });

  const exact = val('businessKey');
  root.append(
    h('div.page-head', h('h1', 'Instances ', total)),
    h('form.filters.card#instance-filters', { onsubmit: (e: Event) => { e.preventDefault(); go({}); } },
      h('label', 'Definition ', definition), h('label', 'Version ', version), h('label', 'Status ', status),
      h('label', 'Business key ', businessKey),
      h('fieldset.range', h('legend', 'Started'), startedFrom, h('span.muted', '–'), startedTo),
      h('fieldset.range', h('legend', 'Ended'), endedFrom, h('span.muted', '–'), endedTo),
      h('label', 'Incident ', incident), h('label', 'Error text ', errorText),
      h('label.vars', 'Variables (one condition a line) ', vars),
      h('div.filter-actions',
        h('button.primary#apply-filters', { type: 'submit' }, 'Filter'),
        h('a.button#clear-filters', { href: '#/instances' }, 'Clear')),
      exact ? h('p.small.muted', 'Business key is exactly ', h('code', exact)) : null),
    ...(operate ? [bar.el, selectAll] : []), list, pager);

  api.definitions().then((defs) => {
    for (const d of defs) definition.append(h('option', { value: d.id, selected: val('definitionId') === d.id }, d.name ? `${d.name} (${d.id})` : d.id));
  }).catch(() => { /* the list still works */ });
  if (val('definitionId')) definition.append(h('option', { value: val('definitionId'), selected: true }, val('definitionId')));

  // go navigates to the list with the form's filters and changes (sort,
  // page); a new filter starts from the first page.
  const go = (change: Record<string, string>) => {
    const q = new URLSearchParams();
    const set = (k: string, v: string) => { if (v.trim()) q.set(k, v.trim()); };
    set('definitionId', definition.value);
    if (definition.value) set('definitionVersion', version.value);
    set('status', status.value);
    set('businessKeyPrefix', businessKey.value);
    if (exact) set('businessKey', exact);
    set('startedFrom', startedFrom.value); set('startedTo', startedTo.value);
    set('endedFrom', endedFrom.value); set('endedTo', endedTo.value);
    set('incident', incident.value); set('error', errorText.value);
    for (const line of vars.value.split('\n')) if (line.trim()) q.append('var', line.trim());
    set('sort', val('sort')); set('order', val('order'));
    for (const [k, v] of Object.entries(change)) { q.delete(k); if (v) q.set(k, v); }
    location.hash = `#/instances${q.toString() ? '?' + q : ''}`;
  };
  for (const el of [status, definition, incident]) el.addEventListener('change', () => go({}));

  const sort = val('sort') || 'createdAt';
  const order = val('order') || 'desc';
  const link = (change: Record<string, string>) => {
    const q = new URLSearchParams();
    for (const k of KEYS) for (const v of query.getAll(k)) q.append(k, v);
    for (const [k, v] of Object.entries(change)) { q.delete(k); if (v) q.set(k, v); }
    return `#/instances${q.toString() ? '?' + q : ''}`;
  };

  // tick draws the selection: the bar, the "all matching" offer and the
  // boxes of the rows shown.
  let shown: InstanceList = { instances: [], total: 0 };
  const tick = () => {
    bar.update();
    const pageIds = shown.instances.map((i) => i.instanceId);
    const whole = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
    for (const box of list.querySelectorAll<HTMLInputElement>('input.select-row')) { box.checked = allMatching || selected.has(box.value); box.disabled = allMatching; }
    const head = list.querySelector<HTMLInputElement>('#select-page');
    if (head) { head.checked = allMatching || whole; head.indeterminate = !allMatching && !whole && pageIds.some((id) => selected.has(id)); }
    selectAll.hidden = !(allMatching || (whole && shown.total > 0));
    clear(selectAll, allMatching
      ? [`Every instance matching the filter is selected (${shown.total} listed; ended ones are left out of a batch). `,
        h('button.link#clear-selection', { type: 'button', onclick: () => { allMatching = false; selected.clear(); tick(); } }, 'Clear the selection')]
      : [`The ${pageIds.length} instances on this page are selected. `,
        h('button.link#select-all-matching', { type: 'button', onclick: () => { allMatching = true; tick(); } }, `Select all ${shown.total} matching the filter`)]);
  };
  const checkbox = (id: string, def: string) => h('input.select-row', {
    type: 'checkbox', value: id, 'aria-label': `select ${id}`,
    onchange: (e: Event) => { if ((e.target as HTMLInputElement).checked) selected.set(id, def); else selected.delete(id); tick(); },
  });

  const render = (page: InstanceList) => {
    shown = page;
    total.textContent = `${page.total} ${page.total === 1 ? 'instance' : 'instances'}`;
    total.dataset.total = String(page.total);
    const pick = operate ? h('th.pick', h('input#select-page', {
      type: 'checkbox', 'aria-label': 'select the instances on this page',
      onchange: (e: Event) => {
        const on = (e.target as HTMLInputElement).checked;
        allMatching = false;
        for (const i of page.instances) { if (on) selected.set(i.instanceId, i.definitionId); else selected.delete(i.instanceId); }
        tick();
      },
    })) : null;
    const head = h('tr', pick, COLUMNS.map(([key, label]) => {
      const active = key === sort;
      const nextOrder = active && order === 'desc' ? 'asc' : 'desc';
      return h('th', { 'aria-sort': active ? (order === 'asc' ? 'ascending' : 'descending') : 'none' },
        h('a.sort', { href: link({ sort: key, order: nextOrder, after: '' }), dataset: { sort: key }, class: active ? 'active' : '' },
          label, active ? (order === 'asc' ? ' ▲' : ' ▼') : ''));
    }));
    if (!page.instances.length) {
      clear(list, h('div.card', h('table.list', h('thead', head)), h('p.muted', 'No instance matches.')));
    } else {
      clear(list, h('div.card.table-wrap', h('table.list.instances-table',
        h('thead', head),
        h('tbody', page.instances.map((i) => h('tr', { dataset: { instanceId: i.instanceId, status: i.status } },
          operate ? h('td.pick', checkbox(i.instanceId, i.definitionId)) : null,
          h('td', h('a.mono', { href: `#/instances/${encodeURIComponent(i.instanceId)}` }, i.instanceId)),
          h('td', h('a', { href: `#/definitions/${encodeURIComponent(i.definitionId)}?version=${i.definitionVersion}` }, i.definitionId), h('span.muted', ` v${i.definitionVersion}`)),
          h('td', { dataset: { col: 'businessKey' } }, i.businessKey ?? ''),
          h('td', statusBadge(i.status)),
          h('td.small', { title: when(i.createdAt) }, relative(i.createdAt)),
          h('td.small', { title: when(i.updatedAt) }, relative(i.updatedAt)),
          h('td.small', { title: when(i.endedAt) }, relative(i.endedAt))))))));
    }
    clear(pager,
      val('after') ? h('a.button#first-page', { href: link({ after: '' }) }, '« First page') : null,
      page.next ? h('a.button#next-page', { href: link({ after: page.next }) }, 'Next page »') : null);
    if (operate) tick();
  };

  const load = async () => {
    try {
      render(await api.instances(apiQuery(query)));
    } catch (err) {
      total.textContent = '';
      clear(list, errorBox(err, 'Instances cannot be loaded'));
      clear(pager);
    }
  };

  const refresh = debounce(load, 500);
  const off = subscribe((ev) => { if (ev.type.startsWith('instance.') || ev.type === 'resync' || ev.type === 'incident.opened') refresh(); });
  clear(list, h('p.muted.loading', 'Loading instances…'));
  await load();
  return off;
}
