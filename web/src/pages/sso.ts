import { h } from '../dom';

// Single sign-on on the login page (docs/auth.md): when the server has an
// OIDC provider configured (GET /auth/oidc answers), a button sends the
// browser through the provider; the server's callback comes back to
// #/login?sso=TOKEN, which signs in with that token.
export function ssoButton(next: string): HTMLElement {
  const box = h('div.sso');
  fetch('/auth/oidc', { headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : null))
    .then((cfg: { login?: string } | null) => {
      if (!cfg?.login) return;
      box.replaceChildren(
        h('a#sso-login.button.primary', { href: `${cfg.login}?next=${encodeURIComponent(next)}` }, 'Sign in with single sign-on'),
        h('p.muted.small', 'or paste a token below'));
    })
    .catch(() => { /* no SSO on this server */ });
  return box;
}

// ssoToken takes the token the SSO callback put in the address, and
// removes it from there (and from the history) at once.
export function ssoToken(query: URLSearchParams): string | null {
  const tok = query.get('sso');
  if (!tok) return null;
  const next = query.get('next');
  history.replaceState(null, '', `#/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  return tok;
}
