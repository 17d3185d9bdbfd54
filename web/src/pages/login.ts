import { ApiError, call, resetCapabilities, session, whoAmI, type Who } from '../api';
import { h } from '../dom';
import { restart } from '../events';
import { errorBox, takeFlash } from '../ui';
import type { Ctx } from '../main';
import { ssoButton, ssoToken } from './sso';

// The login page takes a bearer token (`baton serve --dev` prints demo
// tokens) and keeps it in sessionStorage for this tab.
export function loginPage(root: HTMLElement, { query }: Ctx) {
  const next = query.get('next') || '/inbox';
  const token = h('input#token', { type: 'password', autocomplete: 'off', placeholder: 'paste a token', required: true, size: 40 });
  const user = h('input#who-user', { type: 'text', placeholder: 'e.g. manager', autocomplete: 'username' });
  const groups = h('input#who-groups', { type: 'text', placeholder: 'e.g. managers, clerks' });
  const msg = h('div.msg');
  const anon = h('div.anon');

  const manualWho = (): Who | undefined => {
    const u = user.value.trim();
    const g = groups.value.split(',').map((s) => s.trim()).filter(Boolean);
    return u || g.length ? { user: u, groups: g, fromServer: false } : undefined;
  };

  const enter = async (tok: string) => {
    msg.replaceChildren(h('span.muted', 'Checking…'));
    try {
      await call('/api/runtime/tasks?limit=1', { token: tok || null, quiet401: true });
    } catch (err) {
      msg.replaceChildren(err instanceof ApiError && err.status === 401
        ? h('div.alert.alert-error', { role: 'alert' }, 'The server refused this token.')
        : errorBox(err, 'The server cannot be reached'));
      return;
    }
    resetCapabilities();
    const who = (tok && (await whoAmI(tok))) || manualWho();
    session.signIn(tok, who);
    restart();
    location.hash = '#' + next;
  };

  root.append(
    h('div.login-card',
      h('h1', 'Sign in to Baton'),
      takeFlash(),
      ssoButton(next),
      h('form', {
        onsubmit: (e: Event) => { e.preventDefault(); enter(token.value.trim()); },
      },
        h('label', { for: 'token' }, 'Bearer token'),
        token,
        h('details.who',
          h('summary', 'Who are you? (only when the server cannot tell)'),
          h('p.muted', 'Used to sort the inbox into your tasks and your groups’ tasks when the server has no identity endpoint.'),
          h('label', { for: 'who-user' }, 'User'), user,
          h('label', { for: 'who-groups' }, 'Groups (comma-separated)'), groups),
        h('button#login.primary', { type: 'submit' }, 'Sign in')),
      msg,
      anon,
      h('p.muted.small', 'The token stays in this browser tab (sessionStorage) and is sent as ',
        h('code', 'Authorization: Bearer …'), '. ', h('code', 'baton serve --dev'), ' prints demo tokens.')),
  );
  token.focus();
  const sso = ssoToken(query);
  if (sso) enter(sso);

  // A server without authentication answers without a token: offer to go on.
  call('/api/runtime/tasks?limit=1', { token: null, quiet401: true }).then(() => {
    anon.replaceChildren(h('div.alert.alert-info',
      'This server does not ask for a token. ',
      h('button#continue-anon.link', { type: 'button', onclick: () => enter('') }, 'Continue without a token')));
  }).catch(() => { /* auth required, or unreachable: the form says so on submit */ });
}
