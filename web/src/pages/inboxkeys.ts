// Keyboard navigation in the task inbox: j or ↓ selects the next task,
// k or ↑ the previous one, Enter or o opens it, c claims it, / focuses
// the first search field of the page. Keys typed into a field are left
// alone.

const HELP = 'j/k or ↓/↑: select a task · Enter: open · c: claim · /: search';

export function inboxKeys() {
  document.addEventListener('keydown', (e) => {
    const page = document.querySelector('[data-page="inbox"]');
    if (!page || e.altKey || e.ctrlKey || e.metaKey) return;
    const target = e.target as HTMLElement | null;
    const typing = target && (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName) ||
      target.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes((target as HTMLInputElement).type));
    if (typing) return;
    if (e.key === '/') {
      const search = page.querySelector<HTMLInputElement>('#task-search');
      if (!search) return;
      search.focus();
      e.preventDefault();
      return;
    }
    const rows = [...page.querySelectorAll<HTMLTableRowElement>('tr[data-task-id]')];
    if (!rows.length) return;
    const at = rows.findIndex((r) => r.classList.contains('selected'));
    const select = (i: number) => {
      for (const r of rows) { r.classList.remove('selected'); r.removeAttribute('aria-selected'); }
      const row = rows[Math.max(0, Math.min(rows.length - 1, i))];
      row.classList.add('selected');
      row.setAttribute('aria-selected', 'true');
      row.querySelector<HTMLAnchorElement>('a.task-name')?.focus({ preventScroll: true });
      row.scrollIntoView({ block: 'nearest' });
    };
    switch (e.key) {
      case 'j': case 'ArrowDown':
        select(at + 1); break;
      case 'k': case 'ArrowUp':
        select(at < 0 ? 0 : at - 1); break;
      case 'Enter': case 'o':
        if (at < 0) return;
        location.hash = rows[at].querySelector<HTMLAnchorElement>('a.task-name')?.getAttribute('href') ?? location.hash;
        break;
      case 'c':
        if (at < 0) return;
        rows[at].querySelector<HTMLButtonElement>('button.claim')?.click();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}

export const inboxKeysHelp = HELP;
