// Live updates: one shared EventSource on /api/events for the whole app.
//
// EventSource cannot send an Authorization header, so the session token
// goes in the query string as ?access_token= (the server must accept it
// there for this one endpoint). When the stream cannot be opened (the
// server refuses the parameter, or the connection fails for good), the
// listeners are called every few seconds instead ("polling"), so pages
// stay current either way. After a reconnect, events sent meanwhile are
// lost: listeners get a {type: 'resync'} event and reload.

import { session, type BatonEvent } from './api';

export type Listener = (ev: BatonEvent) => void;
export type Mode = 'connecting' | 'live' | 'polling' | 'off';

const listeners = new Set<Listener>();
const modeListeners = new Set<(m: Mode) => void>();
let es: EventSource | null = null;
let pollTimer: number | undefined;
let retryTimer: number | undefined;
let mode: Mode = 'off';
let failures = 0;

const POLL_MS = 4000;

function setMode(m: Mode) {
  mode = m;
  for (const f of modeListeners) f(m);
}

function dispatch(ev: BatonEvent) {
  for (const f of [...listeners]) {
    try { f(ev); } catch (e) { console.error(e); }
  }
}

function resync() {
  dispatch({ type: 'resync', instanceId: '', time: new Date().toISOString() });
}

export function streamURL(token: string): string {
  return token ? `/api/events?access_token=${encodeURIComponent(token)}` : '/api/events';
}

function open() {
  close();
  setMode('connecting');
  const src = new EventSource(streamURL(session.token()));
  es = src;
  let opened = false;
  src.onopen = () => {
    if (es !== src) return;
    stopPolling();
    if (failures > 0 || opened) resync();
    opened = true;
    failures = 0;
    setMode('live');
  };
  src.onmessage = (m) => {
    try { dispatch(JSON.parse(m.data)); } catch { /* not ours */ }
  };
  src.onerror = () => {
    if (es !== src) return;
    failures++;
    // CLOSED: the server answered with an error (400, 401...) and the
    // browser gives up. Poll, and try the stream again later.
    if (src.readyState === EventSource.CLOSED || failures >= 3) {
      src.close();
      es = null;
      startPolling();
      retryTimer = window.setTimeout(open, Math.min(60000, 5000 * failures));
    }
  };
}

function close() {
  if (es) es.close();
  es = null;
  if (retryTimer !== undefined) clearTimeout(retryTimer);
  retryTimer = undefined;
}

function startPolling() {
  if (pollTimer === undefined) pollTimer = window.setInterval(resync, POLL_MS);
  setMode('polling');
}

function stopPolling() {
  if (pollTimer !== undefined) clearInterval(pollTimer);
  pollTimer = undefined;
}

// subscribe adds a listener and opens the stream on first use; the
// returned function removes it.
export function subscribe(f: Listener): () => void {
  listeners.add(f);
  if (!es && mode !== 'polling') open();
  return () => listeners.delete(f);
}

export function onMode(f: (m: Mode) => void): () => void {
  modeListeners.add(f);
  f(mode);
  return () => modeListeners.delete(f);
}

// restart reopens the stream (after a sign-in: new token).
export function restart() {
  stopPolling();
  failures = 0;
  if (session.signedIn()) open();
  else { close(); setMode('off'); }
}
