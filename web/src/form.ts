// Task forms: form-js renders the task's form-js schema; the server's 422
// answer (errors: [{location, message}]) is shown inline, under the field
// each error names. Loaded on demand (a separate chunk).

import { Form } from '@bpmn-io/form-js';
import '@bpmn-io/form-js/dist/assets/form-js.css';
import type { ProblemError } from './api';

export interface FormHandle {
  // submit validates in the browser; errors is empty when the data may go
  // to the server.
  submit(): { data: Record<string, unknown>; errors: Record<string, unknown> };
  // showServerErrors puts each error under its field and returns the ones
  // that name no field of this form.
  showServerErrors(errors: ProblemError[]): ProblemError[];
  destroy(): void;
}

export async function renderForm(container: HTMLElement, schema: any, data: Record<string, unknown>): Promise<FormHandle> {
  const form: any = new Form({ container });
  await form.importSchema(schema, data);
  return {
    submit() {
      const { data, errors } = form.submit();
      return { data, errors: errors ?? {} };
    },
    showServerErrors(errs: ProblemError[]) {
      const instances: any[] = form.get('formFieldInstanceRegistry').getAllKeyed();
      const byPath = new Map<string, any>();
      for (const fi of instances) byPath.set((fi.valuePath ?? []).join('.'), fi);
      const state: Record<string, any> = {};
      const unmatched: ProblemError[] = [];
      for (const e of errs) {
        const fi = byPath.get(fieldPath(e.location ?? ''));
        if (!fi) { unmatched.push(e); continue; }
        const path = [fi.id, ...Object.values(fi.indexes ?? {})];
        let node = state;
        for (const k of path.slice(0, -1)) node = node[k as string] ??= {};
        const last = path[path.length - 1] as string;
        node[last] = [...(node[last] ?? []), e.message];
      }
      form._setState({ errors: state });
      return unmatched;
    },
    destroy() { form.destroy(); },
  };
}

// fieldPath turns an error location into a form value path:
// "body.variables.applicant.name" → "applicant.name", "items[0].name" →
// "items.0.name".
export function fieldPath(location: string): string {
  return location
    .replace(/^body\./, '')
    .replace(/^variables\./, '')
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/^\./, '');
}
