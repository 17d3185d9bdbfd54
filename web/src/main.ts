// Baton's web UI: a hash-routed single page app over the REST API.
//
//   #/login               sign in with a bearer token
//   #/inbox               my tasks and my groups' tasks
//   #/tasks/ID            one task: its form, submit
//   #/instances           instances, filtered by status, definition, business key
//   #/instances/ID        one instance: diagram, history, variables, LLM decisions, cancel, recover, apply advice
//   #/batches             batch operations and their progress; #/batches/ID one batch, followed live
//   #/incidents           open incidents by failure (retry, skip, cancel a group), dead letters, notification log
//   #/definitions         definitions, deploy by upload
//   #/definitions/ID      versions and diagram of one definition; start an instance
//   anything else         a not-found page

import './style.css';
import { session, setConnectivityHandler, setUnauthorizedHandler } from './api';
import { h, clear } from './dom';
import { onMode, restart } from './events';
import { flash } from './ui';
import { loginPage } from './pages/login';
import { inboxPage } from './pages/inbox';
import { taskPage } from './pages/task';
import { instancesPage } from './pages/instances';
import { instancePage } from './pages/instance';
import { incidentsPage } from './pages/incidents';
import { definitionsPage } from './pages/definitions';
import { definitionPage } from './pages/definition';
import { notFoundPage } from './pages/notfound';
import { inboxKeys } from './pages/inboxkeys';
import { batchesPage, batchPage } from './pages/batches';

export interface Ctx { params: string[]; query: URLSearchParams }
export type Page = (root: HTMLElement, ctx: Ctx) => void | (() => void) | Promise<void | (() => void)>;

const routes: [RegExp, Page, string][] = [
  [/^\/login$/, loginPage, ''],
  [/^\/inbox$/, inboxPage, 'inbox'],
  [/^\/tasks\/([^/]+)$/, taskPage, 'inbox'],
  [/^\/instances$/, instancesPage, 'instances'],
  [/^\/instances\/([^/]+)$/, instancePage, 'instances'],
  [/^\/incidents$/, incidentsPage, 'incidents'],
  [/^\/batches$/, batchesPage, 'batches'],
  [/^\/batches\/([^/]+)$/, batchPage, 'batches'],
  [/^\/definitions$/, definitionsPage, 'definitions'],
  [/^\/definitions\/([^/]+)$/, definitionPage, 'definitions'],
];

const app = document.getElementById('app')!;
const nav = h('nav.top');
const main = h('main#page');
const offline = h('div#offline.offline', { role: 'alert', hidden: true }, 'The server cannot be reached. Retrying…');
app.append(offline, h('header.bar', h('a.brand', { href: '#/inbox' }, h('img.logo', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), 'Baton'), nav), main);

let cleanup: (() => void) | void;
let seq = 0;

function renderNav(section: string) {
  const who = session.who();
  const link = (href: string, label: string, key: string) =>
    h('a', { href, class: section === key ? 'active' : '', dataset: { nav: key } }, label);
  const live = h('span.live', { title: 'live updates' });
  clear(nav,
    session.signedIn() ? [
      link('#/inbox', 'Task inbox', 'inbox'),
      link('#/instances', 'Instances', 'instances'),
      link('#/incidents', 'Incidents', 'incidents'),
      link('#/batches', 'Batches', 'batches'),
      link('#/definitions', 'Definitions', 'definitions'),
      h('span.spacer'),
      live,
      h('span.who', { dataset: { user: who?.user ?? '' } }, who?.user ? `${who.user}${who.groups.length ? ` (${who.groups.join(', ')})` : ''}${who.role ? ` · ${who.role}` : ''}` : session.token() ? 'signed in' : 'no token (open server)'),
      h('button.link', { onclick: () => { session.signOut(); restart(); location.hash = '#/login'; } }, 'Sign out'),
    ] : []);
  if (session.signedIn()) {
    const off = onMode((m) => {
      if (!live.isConnected) { off(); return; }
      live.dataset.mode = m;
      live.textContent = m === 'live' ? '● live' : m === 'polling' ? '○ polling' : m === 'connecting' ? '◌ connecting' : '';
      live.title = m === 'polling'
        ? 'The event stream is not available; refreshing every few seconds.'
        : 'Updates arrive from /api/events as they happen.';
    });
  }
}

async function route() {
  const my = ++seq;
  if (typeof cleanup === 'function') { try { cleanup(); } catch (e) { console.error(e); } }
  cleanup = undefined;
  const raw = location.hash.replace(/^#/, '') || '/inbox';
  const [path, search = ''] = raw.split('?');
  if (!session.signedIn() && path !== '/login') {
    location.replace(`#/login?next=${encodeURIComponent(raw)}`);
    return;
  }
  for (const [re, page, section] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    renderNav(section);
    const root = h('div.page', { dataset: { page: section || 'login' } });
    main.replaceChildren(root);
    window.scrollTo(0, 0);
    const c = await page(root, { params: m.slice(1).map(decodeURIComponent), query: new URLSearchParams(search) });
    if (my !== seq) { if (typeof c === 'function') c(); } else cleanup = c;
    return;
  }
  // An unknown route: say so (an empty hash is the inbox, above).
  renderNav('');
  const root = h('div.page', { dataset: { page: 'notfound' } });
  main.replaceChildren(root);
  cleanup = notFoundPage(root, path);
}

// When a request cannot reach the server, a banner says so and /healthz
// is asked every few seconds; when the server answers again (that probe
// or any request), the banner goes and the page is drawn again, so that
// no error box of the outage stays behind.
let down = false;
let probe: number | undefined;
setConnectivityHandler((up) => {
  if (!up && !down) {
    down = true;
    offline.hidden = false;
    const ask = () => {
      probe = window.setTimeout(async () => {
        try {
          const res = await fetch('/healthz', { cache: 'no-store' });
          if (res.ok || res.status < 500) { back(); return; }
        } catch { /* still down */ }
        if (down) ask();
      }, 2000);
    };
    ask();
  } else if (up && down) {
    back();
  }
});
function back() {
  if (!down) return;
  down = false;
  offline.hidden = true;
  if (probe !== undefined) { clearTimeout(probe); probe = undefined; }
  route();
}

setUnauthorizedHandler((p) => {
  if (location.hash.startsWith('#/login')) return;
  flash(`Your token was refused: ${p.detail || 'sign in again'}.`, 'error');
  session.signOut();
  restart();
  location.hash = `#/login?next=${encodeURIComponent(location.hash.replace(/^#/, ''))}`;
});

window.addEventListener('hashchange', route);
inboxKeys();
if (session.signedIn()) restart();
route();
