import { api, may, type IncidentGroup, type ResolveResult } from '../api';
import { h, clear, relative, when, debounce, short } from '../dom';
import { subscribe } from '../events';
import { errorBox } from '../ui';
import type { Ctx } from '../main';

// The operator's overview: open incidents grouped by definition, node and
// message (retry, skip or cancel a whole group, or one incident of it),
// the dead letters with drain, and the notification delivery log with
// re-send.
export async function incidentsPage(root: HTMLElement, _ctx: Ctx) {
  const notice = h('div.notice', { 'aria-live': 'polite' });
  const groupsHost = h('div#incident-groups');
  const deadHost = h('div#dead-letters');
  const noteState = h('select#notification-state',
    h('option', { value: 'dead' }, 'dead'), h('option', { value: 'pending' }, 'pending'),
    h('option', { value: 'sent' }, 'sent'), h('option', { value: '' }, 'every state'));
  const notesHost = h('div#notifications');
  const operate = may('operator');
  root.append(
    h('div.page-head', h('h1', 'Incidents')),
    notice,
    h('section.card', h('h2', 'Open incidents by failure'), groupsHost),
    h('section.card', h('h2', 'Dead letters'), deadHost),
    h('section.card', h('h2', 'Notification deliveries ', noteState), notesHost));

  const say = (what: string, r: ResolveResult | { resolved: number }) => {
    const failed = 'failed' in r ? r.failed : [];
    clear(notice, h('div.alert', { class: failed.length ? 'alert-error' : 'alert-ok', role: 'status' },
      `${what}: ${r.resolved} resolved`, failed.length ? `, ${failed.length} not:` : '.',
      failed.length ? h('ul.problems', failed.map((f) => h('li', h('code', f.incidentId), ' ', f.error))) : null));
  };
  const act = async (what: string, ask: string, f: () => Promise<ResolveResult | { resolved: number }>) => {
    if (ask && !confirm(ask)) return;
    try {
      say(what, await f());
    } catch (err) {
      clear(notice, errorBox(err, what));
    }
    await loadAll();
  };

  const groupActions = (g: IncidentGroup) => {
    const body = { definitionId: g.definitionId, nodeId: g.nodeId, message: g.message };
    const n = `${g.count} incident${g.count === 1 ? '' : 's'}`;
    return [
      h('button.primary', { type: 'button', dataset: { action: 'retry' }, onclick: () => act(`Retry ${g.nodeId}`, '', () => api.resolveIncidents({ ...body, action: 'retry' })) }, 'Retry all'),
      h('button', { type: 'button', dataset: { action: 'skip' }, onclick: () => act(`Skip ${g.nodeId}`, `Skip ${g.nodeId} in ${n}? The node completes without running, and the instances go on.`, () => api.resolveIncidents({ ...body, action: 'skip' })) }, 'Skip all'),
      h('button.danger', { type: 'button', dataset: { action: 'cancel' }, onclick: () => act(`Cancel ${g.nodeId}`, `Cancel the instances of ${n}? This cannot be undone.`, () => api.resolveIncidents({ ...body, action: 'cancel' })) }, 'Cancel all'),
    ];
  };

  // members lists one group's incidents under its row, each with its own
  // actions.
  const members = async (g: IncidentGroup, host: HTMLElement) => {
    clear(host, h('span.muted.loading', 'Loading…'));
    try {
      const incs = await api.incidents({ state: 'open', definitionId: g.definitionId, nodeId: g.nodeId, message: g.message });
      clear(host, h('table.list.members', h('tbody', incs.map((i) => h('tr', { dataset: { incidentId: i.id, instanceId: i.instanceId } },
        h('td', h('a.mono', { href: `#/instances/${encodeURIComponent(i.instanceId)}` }, short(i.instanceId, 12))),
        h('td.small', { title: when(i.createdAt) }, relative(i.createdAt)),
        h('td.small', i.attempts ? `${i.attempts} attempts` : ''),
        h('td.actions', operate ? [
          h('button', { type: 'button', dataset: { action: 'retry' }, onclick: () => act('Retry', '', () => api.resolveIncidents({ incidentIds: [i.id], action: 'retry' })) }, 'Retry'),
          h('button', { type: 'button', dataset: { action: 'skip' }, onclick: () => act('Skip', `Skip ${i.nodeId} of this instance?`, () => api.resolveIncidents({ incidentIds: [i.id], action: 'skip' })) }, 'Skip'),
          h('button.danger', { type: 'button', dataset: { action: 'cancel' }, onclick: () => act('Cancel', 'Cancel this instance?', () => api.resolveIncidents({ incidentIds: [i.id], action: 'cancel' })) }, 'Cancel'),
        ] : null))))));
    } catch (err) {
      clear(host, errorBox(err));
    }
  };

  const loadGroups = async () => {
    const groups = await api.incidentGroups();
    if (!groups.length) { clear(groupsHost, h('p.muted#no-incidents', 'No open incident.')); return; }
    clear(groupsHost, h('div.table-wrap', h('table.list.groups',
      h('thead', h('tr', h('th', 'Definition'), h('th', 'Node'), h('th', 'Error'), h('th', 'Count'), h('th', 'Since'), h('th', ''))),
      h('tbody', groups.map((g) => {
        const detail = h('td', { colspan: 6 });
        const detailRow = h('tr.group-detail', { hidden: true }, detail);
        const row = h('tr.group', { dataset: { definitionId: g.definitionId, nodeId: g.nodeId, count: String(g.count) } },
          h('td', h('a', { href: `#/instances?definitionId=${encodeURIComponent(g.definitionId)}&incident=true` }, g.definitionId)),
          h('td', h('code', g.nodeId)),
          h('td.message', g.message),
          h('td', h('button.link.expand', { type: 'button', title: 'Show the incidents', onclick: () => {
            detailRow.hidden = !detailRow.hidden;
            if (!detailRow.hidden) members(g, detail);
          } }, h('span.count', String(g.count)))),
          h('td.small', { title: `${when(g.firstAt)} – ${when(g.lastAt)}` }, relative(g.firstAt)),
          h('td.actions', operate ? groupActions(g) : null));
        return [row, detailRow];
      })))));
  };

  const loadDead = async () => {
    const dead = await api.deadLetters();
    if (!dead.length) { clear(deadHost, h('p.muted', 'No dead letter.')); return; }
    clear(deadHost,
      operate ? h('div.bulk',
        h('button.primary#drain-retry', { type: 'button', onclick: () => act('Drain (retry)', `Run the ${dead.length} dead-lettered jobs again?`, () => api.drain('retry')) }, `Retry all ${dead.length}`),
        h('button#drain-discard', { type: 'button', onclick: () => act('Drain (discard)', `Complete the ${dead.length} dead-lettered nodes without running them?`, () => api.drain('discard')) }, 'Discard all')) : null,
      h('div.table-wrap', h('table.list.dead',
        h('thead', h('tr', h('th', 'Instance'), h('th', 'Node'), h('th', 'Kind'), h('th', 'Attempts'), h('th', 'Last error'), h('th', 'Failed'))),
        h('tbody', dead.map((d) => h('tr', { dataset: { jobId: d.id } },
          h('td', h('a.mono', { href: `#/instances/${encodeURIComponent(d.instanceId)}` }, short(d.instanceId, 12))),
          h('td', h('code', d.nodeId)), h('td', d.kind), h('td', String(d.attempts)),
          h('td.message', d.lastError ?? ''), h('td.small', { title: when(d.lastFailureAt) }, relative(d.lastFailureAt))))))));
  };

  const loadNotes = async () => {
    const { notifications } = await api.notifications(noteState.value || undefined);
    if (!notifications.length) { clear(notesHost, h('p.muted', `No ${noteState.value || ''} notification.`)); return; }
    clear(notesHost, h('div.table-wrap', h('table.list.notes',
      h('thead', h('tr', h('th', 'Event'), h('th', 'Channel'), h('th', 'To'), h('th', 'State'), h('th', 'Attempts'), h('th', 'Last error'), h('th', 'Created'), h('th', ''))),
      h('tbody', notifications.map((n) => h('tr', { dataset: { notificationId: n.id, state: n.state } },
        h('td', n.event), h('td', n.channel), h('td.message', n.target ?? ''), h('td', h('span.badge', { class: `nt-${n.state}` }, n.state)),
        h('td', String(n.attempts)), h('td.message', n.lastError ?? ''), h('td.small', { title: when(n.createdAt) }, relative(n.createdAt)),
        h('td.actions', operate && n.state === 'dead' ? h('button', { type: 'button', dataset: { action: 'resend' }, onclick: async () => {
          try { await api.resend(n.id); clear(notice, h('div.alert.alert-ok', { role: 'status' }, `Notification ${n.event} to ${n.target ?? n.channel} queued again.`)); } catch (err) { clear(notice, errorBox(err, 'Re-send')); }
          await loadAll();
        } }, 'Re-send') : null)))))));
  };
  noteState.addEventListener('change', () => { loadNotes().catch((err) => clear(notesHost, errorBox(err))); });

  const loadAll = async () => {
    await Promise.all([
      loadGroups().catch((err) => clear(groupsHost, errorBox(err, 'Incidents cannot be loaded'))),
      loadDead().catch((err) => clear(deadHost, errorBox(err, 'Dead letters cannot be loaded'))),
      loadNotes().catch((err) => clear(notesHost, errorBox(err, 'Notifications cannot be loaded'))),
    ]);
  };
  for (const host of [groupsHost, deadHost, notesHost]) clear(host, h('p.muted.loading', 'Loading…'));
  const refresh = debounce(loadAll, 700);
  const off = subscribe((ev) => { if (ev.type.startsWith('incident.') || ev.type.startsWith('instance.') || ev.type === 'resync') refresh(); });
  await loadAll();
  return off;
}
