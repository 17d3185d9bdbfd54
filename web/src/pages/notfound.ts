import { h } from '../dom';

// notFoundPage answers a route the app does not have, instead of showing
// another page as if the link had worked.
export function notFoundPage(root: HTMLElement, path: string) {
  root.append(h('div.card.not-found',
    h('h1', 'Page not found'),
    h('p', 'There is no page at ', h('code', `#${path}`), '.'),
    h('p', h('a', { href: '#/inbox' }, 'Task inbox'), ' · ', h('a', { href: '#/instances' }, 'Instances'), ' · ',
      h('a', { href: '#/incidents' }, 'Incidents'), ' · ', h('a', { href: '#/definitions' }, 'Definitions'))));
}
