// An in-page confirmation dialog (a modal <dialog>): unlike confirm(), it
// can show a list of what will change and say how many, and tests can
// read it.

import { h } from './dom';

export interface ConfirmOptions {
  title: string;
  body?: Node | string | (Node | string | null)[];
  ok: string;          // the confirming button's label: say what it does
  danger?: boolean;    // a red button (cancel, irreversible)
}

// confirmDialog resolves true when the user confirms, false on cancel,
// Escape or a click outside.
export function confirmDialog(o: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    document.getElementById('confirm-dialog')?.remove();
    const ok = h('button#confirm-ok', { type: 'submit', class: o.danger ? 'danger' : 'primary' }, o.ok);
    const no = h('button#confirm-cancel', { type: 'button' }, 'Go back');
    const dlg = h('dialog#confirm-dialog.confirm', { 'aria-labelledby': 'confirm-title' },
      h('form', { method: 'dialog' },
        h('h2#confirm-title', o.title),
        h('div.confirm-body', o.body ?? null),
        h('div.form-actions', ok, ' ', no)));
    let answered = false;
    const done = (v: boolean) => {
      if (answered) return;
      answered = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    ok.addEventListener('click', (e) => { e.preventDefault(); done(true); });
    no.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    dlg.addEventListener('click', (e) => { if (e.target === dlg) done(false); });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}
