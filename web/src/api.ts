// The REST client: every call sends the session's bearer token, and every
// error becomes an ApiError carrying the server's RFC 9457 problem document.

export interface ProblemError { location?: string; message: string }
export interface Problem {
  type?: string; title?: string; status?: number; detail?: string; instance?: string;
  errors?: ProblemError[];
}

export interface HistoryEntry {
  nodeId: string; nodeType?: string; action: string; timestamp: string; result?: unknown; actor?: string;
}
export interface Checkpoint { version: number; timestamp: string; status?: string }
// Advice is an LLM's recovery suggestion stored on an incident.
export interface Advice {
  action: string; variables?: Record<string, unknown>; reason?: string; confidence?: number; model?: string;
}
export interface Incident {
  id: string; instanceId: string; definitionId?: string; nodeId: string; jobId?: string; kind: string;
  message: string; attempts?: number; state: string; createdAt: string; resolvedAt?: string; resolvedBy?: string;
  advice?: Advice;
}
// DecisionRecord is one recorded LLM call of an instance. decision,
// request and response come from the model or its provider: display them
// as text only.
export interface DecisionRecord {
  id: string; nodeId: string; jobId?: string; provider: string; model?: string; decision: unknown;
  inputTokens: number; outputTokens: number; latencyMs: number; costMicroDollars: number; createdAt: string;
  request?: unknown; response?: string;
}
export interface Instance {
  instanceId: string; definitionId: string; definitionVersion: number; businessKey?: string; status: string;
  currentNodeIds: string[]; processData: Record<string, unknown>; executionHistory: HistoryEntry[];
  checkpoints: Checkpoint[]; incidents?: Incident[]; createdAt: string; updatedAt: string; endedAt?: string;
  tokens?: Token[]; parent?: CallLink; children?: CallLink[];
}
// Token is one active token (element instance), for instance modification.
export interface Token { id: number; nodeId: string; scope?: number; wait?: string; ref?: string }
// CallLink names the instance at the other end of a call activity.
export interface CallLink { instanceId: string; definitionId?: string; nodeId: string; status?: string }
export interface ModifyInstruction { op: 'cancel' | 'activate' | 'setVariables'; node?: string; token?: number; scope?: number; variables?: Record<string, unknown> }
// InstanceSelector is the instance search's filter in a batch's body.
export interface InstanceSelector {
  definitionId?: string; version?: number; status?: string; businessKey?: string; businessKeyPrefix?: string;
  startedFrom?: string; startedBefore?: string; endedFrom?: string; endedBefore?: string; incident?: boolean; error?: string; vars?: string[];
}
export interface BatchRequest {
  kind: 'cancel' | 'retry' | 'migrate' | 'modify'; instanceIds?: string[]; filter?: InstanceSelector;
  targetDefinition?: { id?: string; version?: number }; mapping?: Record<string, string>; instructions?: ModifyInstruction[];
}
export interface BatchItem { instanceId: string; state: string; error?: string; updatedAt: string }
export interface Batch {
  id: string; kind: string; state: string; total: number; done: number; failed: number; createdBy?: string;
  createdAt: string; updatedAt: string; finishedAt?: string; request: BatchRequest; items?: BatchItem[]; nextItems?: string;
}
export interface MigrateResult { instanceId: string; outcome: string; reason?: string; from?: string; to?: string }
export interface MigrateReport { dryRun: boolean; total: number; migrated: number; unchanged: number; refused: number; instances: MigrateResult[] }
export interface InstanceSummary {
  instanceId: string; definitionId: string; definitionVersion: number; businessKey?: string; status: string;
  createdAt: string; updatedAt: string; endedAt?: string;
}
export interface IncidentGroup { definitionId: string; nodeId: string; message: string; count: number; firstAt: string; lastAt: string }
export interface ResolveResult { resolved: number; failed: { incidentId: string; instanceId?: string; error: string }[] }
export interface DeadLetter {
  id: string; instanceId: string; nodeId: string; kind: string; taskType?: string; attempts: number; lastError?: string;
  firstFailureAt?: string; lastFailureAt?: string;
}
export interface Notification {
  id: string; instanceId?: string; event: string; channel: string; target?: string; state: string; attempts: number;
  lastError?: string; createdAt: string; nextAttemptAt?: string; sentAt?: string;
}
export interface InstanceJob {
  id: string; nodeId: string; kind: string; taskType?: string; state: string; attempts: number; maxAttempts?: number;
  lastError?: string; lastFailureAt?: string; nextAttemptAt?: string; leaseUntil?: string; createdAt: string;
}
export interface InstanceList { instances: InstanceSummary[]; next?: string; total: number }
export interface Task {
  id: string; instanceId: string; definitionId: string; nodeId: string; name: string; assignee: string;
  candidateGroups: string[]; candidateUsers?: string[]; dueAt?: string; createdAt: string; state?: string;
  priority?: number; completedAt?: string; completedBy?: string;
  businessKey?: string; processName?: string; columns?: { label: string; value: unknown }[];
}

export interface StartForm { definitionId: string; version: number; nodeId: string; source: string; form: any; data: Record<string, unknown> }
export interface Definition {
  id: string; version: number; name: string; format: string; deployedAt: string; deployedBy?: string; hash: string;
}
export interface DeployResult { id: string; version: number; created: boolean }
export interface BatonEvent {
  type: string; instanceId: string; nodeId?: string; status?: string; ref?: string; time: string;
}

export class ApiError extends Error {
  constructor(public status: number, public problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }
}

const TOKEN_KEY = 'baton.token';
const WHO_KEY = 'baton.who';

export interface Who { user: string; groups: string[]; role?: string; fromServer: boolean }

// may tells whether the signed-in user's role allows an action that needs
// role need (viewer < operator < admin). Unknown roles may try: the server
// decides.
export function may(need: 'viewer' | 'operator' | 'admin'): boolean {
  const order = ['viewer', 'operator', 'admin'];
  const role = session.who()?.role;
  if (!role || !order.includes(role)) return true;
  return order.indexOf(role) >= order.indexOf(need);
}

export const session = {
  token(): string { return sessionStorage.getItem(TOKEN_KEY) ?? ''; },
  signedIn(): boolean { return sessionStorage.getItem(TOKEN_KEY) !== null; },
  signIn(token: string, who?: Who) {
    sessionStorage.setItem(TOKEN_KEY, token);
    if (who) sessionStorage.setItem(WHO_KEY, JSON.stringify(who));
    else sessionStorage.removeItem(WHO_KEY);
  },
  signOut() { sessionStorage.removeItem(TOKEN_KEY); sessionStorage.removeItem(WHO_KEY); },
  who(): Who | null {
    try { return JSON.parse(sessionStorage.getItem(WHO_KEY) ?? 'null'); } catch { return null; }
  },
};

// onUnauthorized is set by the app: a 401 sends the user to the login page.
export let onUnauthorized: (p: Problem) => void = () => {};
export function setUnauthorizedHandler(f: (p: Problem) => void) { onUnauthorized = f; }

export interface CallOptions {
  method?: string;
  body?: unknown;        // sent as JSON
  form?: FormData;       // sent as multipart
  token?: string | null; // override the session token (null: none)
  accept?: string;
  quiet401?: boolean;    // do not redirect to the login page on 401
}

export async function call<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const res = await send(path, opts);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('Content-Type') ?? '';
  return (type.includes('json') ? res.json() : res.text()) as Promise<T>;
}

// Connectivity: the app learns when a request cannot reach the server
// (down) and when one gets any answer again (up).
let onConnectivity: (up: boolean) => void = () => {};
export function setConnectivityHandler(f: (up: boolean) => void) { onConnectivity = f; }

// busy marks the document while requests run longer than BUSY_MS, for the
// loading bar (style.css: html[data-busy]).
const BUSY_MS = 150;
let inflight = 0;
let busyTimer: number | undefined;
function busy(delta: number) {
  inflight += delta;
  if (inflight > 0 && busyTimer === undefined && !document.documentElement.dataset.busy) {
    busyTimer = window.setTimeout(() => { busyTimer = undefined; if (inflight > 0) document.documentElement.dataset.busy = 'true'; }, BUSY_MS);
  } else if (inflight === 0) {
    if (busyTimer !== undefined) { clearTimeout(busyTimer); busyTimer = undefined; }
    delete document.documentElement.dataset.busy;
  }
}

export async function send(path: string, opts: CallOptions = {}): Promise<Response> {
  busy(1);
  try {
    return await sendNow(path, opts);
  } finally {
    busy(-1);
  }
}

async function sendNow(path: string, opts: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
  const token = opts.token === undefined ? session.token() : opts.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body });
  } catch (e) {
    onConnectivity(false);
    throw new ApiError(0, { title: 'Network error', detail: `the server cannot be reached (${(e as Error).message})` });
  }
  onConnectivity(true);
  if (!res.ok) {
    let problem: Problem = { status: res.status, title: res.statusText };
    try {
      const text = await res.text();
      try { problem = { ...problem, ...JSON.parse(text) }; } catch { if (text) problem.detail = text.slice(0, 500); }
    } catch { /* keep the status line */ }
    if (res.status === 401 && !opts.quiet401) onUnauthorized(problem);
    throw new ApiError(res.status, problem);
  }
  return res;
}

function qs(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// listAll follows `next` cursors up to max items.
async function listAll<T>(path: string, key: string, params: Record<string, string | undefined>, max = 1000): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page: any = await call(path + qs({ ...params, after, limit: 200 }));
    out.push(...(page[key] ?? []));
    if (!page.next || out.length >= max) return out;
    after = page.next;
  }
}

const enc = encodeURIComponent;

export const api = {
  tasks: (p: Record<string, string | undefined> = {}) => listAll<Task>('/api/runtime/tasks', 'tasks', p),
  // startForm is null when the version's start event has no form (404).
  startForm: (id: string, version?: number) => call<StartForm>(`/api/definitions/${enc(id)}/start-form` + qs({ version }))
    .catch((err) => { if (err instanceof ApiError && err.status === 404) return null; throw err; }),
  // instances searches with the query as the API takes it (var repeats).
  instances: (q: URLSearchParams) => call<InstanceList>(`/api/runtime/instances${q.toString() ? '?' + q : ''}`),
  instance: (id: string) => call<Instance>(`/api/runtime/instance/${enc(id)}`),
  start: (definitionId: string, variables: Record<string, unknown>, businessKey?: string, version?: number) =>
    call<Instance>('/api/runtime/start', { body: { definitionId, variables, businessKey: businessKey || undefined, version: version || undefined } }),
  complete: (taskId: string, variables: Record<string, unknown>) =>
    call<Instance>('/api/runtime/complete-task', { body: { taskId, variables } }),
  setVariables: (id: string, variables: Record<string, unknown>) =>
    call<Instance>(`/api/runtime/instance/${enc(id)}/variables`, { body: { variables } }),
  jobs: (id: string) => call<{ jobs: InstanceJob[] }>(`/api/runtime/instance/${enc(id)}/jobs`).then((r) => r.jobs),
  cancel: (id: string) => call<Instance>(`/api/runtime/instance/${enc(id)}/cancel`, { method: 'POST' }),
  recover: (id: string, body: Record<string, unknown>) => call<Instance>(`/api/runtime/recover/${enc(id)}`, { body }),
  incidents: (p: Record<string, string | undefined>) => listAll<Incident>('/api/runtime/incidents', 'incidents', p, 500),
  incidentGroups: () => call<{ groups: IncidentGroup[] }>('/api/runtime/incident-groups').then((r) => r.groups),
  resolveIncidents: (body: { incidentIds?: string[]; definitionId?: string; nodeId?: string; message?: string; action: string }) =>
    call<ResolveResult>('/api/runtime/incidents/resolve', { body }),
  deadLetters: () => listAll<DeadLetter>('/api/runtime/dead-letters', 'deadLetters', {}, 500),
  drain: (action: 'retry' | 'discard') => call<{ resolved: number }>('/api/runtime/dead-letters/drain', { body: { action } }),
  notifications: (state?: string) => call<{ notifications: Notification[]; next?: string }>('/api/notifications' + qs({ state, limit: 100 })),
  resend: (id: string) => call<void>(`/api/notifications/${enc(id)}/resend`, { method: 'POST' }),
  decisions: (id: string) =>
    call<{ decisions?: DecisionRecord[] }>(`/api/runtime/instance/${enc(id)}/decisions`).then((r) => r.decisions ?? []),
  applyAdvice: (incidentId: string) => call<Instance>(`/api/runtime/incidents/${enc(incidentId)}/apply-advice`, { method: 'POST' }),
  modify: (id: string, instructions: ModifyInstruction[]) =>
    call<Instance>(`/api/runtime/instance/${enc(id)}/modify`, { body: { instructions } }),
  migrate: (body: { instanceIds: string[]; targetDefinition: { id?: string; version?: number }; mapping?: Record<string, string>; dryRun?: boolean }) =>
    call<MigrateReport>('/api/runtime/migrate', { body }),
  createBatch: (body: BatchRequest) => call<Batch>('/api/runtime/batches', { body }),
  batch: (id: string, p: { itemState?: string; after?: string; limit?: number } = {}) =>
    call<Batch>(`/api/runtime/batches/${enc(id)}` + qs(p)),
  batches: (after?: string) => call<{ batches: Batch[]; next?: string }>('/api/runtime/batches' + qs({ after, limit: 50, order: 'newest' })),
  definitions: () => call<{ definitions: Definition[] }>('/api/definitions').then((r) => r.definitions),
  versions: (id: string) => call<{ definitions: Definition[] }>(`/api/definitions/${enc(id)}/versions`).then((r) => r.definitions),
  bpmn: (id: string, version?: number) =>
    call<string>(`/api/definitions/${enc(id)}/bpmn` + qs({ version }), { accept: 'application/xml' }),
  deploy: (file: File) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return call<DeployResult>('/api/definitions' + qs({ name: file.name }), { form });
  },
};

// --- What the server offers, read from its OpenAPI document --------------

interface Capabilities { paths: Record<string, Record<string, any>> | null }
let caps: Promise<Capabilities> | null = null;

export function capabilities(): Promise<Capabilities> {
  caps ??= call<any>('/api/openapi.json', { quiet401: true })
    .then((doc) => ({ paths: doc?.paths ?? null }))
    .catch(() => ({ paths: null }));
  return caps;
}
export function resetCapabilities() { caps = null; }

// findOperation returns the first path (and its operation) whose template
// matches re and that has the method.
export async function findOperation(re: RegExp, method: string): Promise<{ path: string; op: any } | null> {
  const { paths } = await capabilities();
  if (!paths) return null;
  for (const [path, ops] of Object.entries(paths)) {
    if (re.test(path) && ops[method.toLowerCase()]) return { path, op: ops[method.toLowerCase()] };
  }
  return null;
}

// offers tells whether the server has an operation: true when its OpenAPI
// document lists it, or when there is no document to ask (then the UI
// tries, and copes with the refusal).
export async function offers(re: RegExp, method: string): Promise<boolean> {
  const { paths } = await capabilities();
  return paths === null || (await findOperation(re, method)) !== null;
}

// fill replaces the {param} placeholders of an OpenAPI path template.
export function fill(template: string, value: string): string {
  return template.replace(/\{[^}]+\}/, enc(value));
}

// whoAmI asks the server who the token belongs to, where it can tell
// (an identity endpoint in its OpenAPI document). Null when it cannot.
export async function whoAmI(token: string): Promise<Who | null> {
  const found = await findOperation(/^\/api\/(auth\/)?(me|whoami|identity|session|userinfo)$/, 'get');
  if (!found) return null;
  try {
    const me: any = await call(found.path, { token, quiet401: true });
    let body = me;
    if (me?.identity && typeof me.identity === 'object') body = me.identity;
    else if (me?.user && typeof me.user === 'object') body = me.user;
    const user = body?.user ?? body?.id ?? body?.name ?? body?.username ?? body?.subject ?? '';
    const groups = body?.groups ?? me?.groups ?? [];
    if (!user) return null;
    const role = typeof body?.role === 'string' ? body.role : undefined;
    return { user: String(user), groups: Array.isArray(groups) ? groups.map(String) : [], role, fromServer: true };
  } catch {
    return null;
  }
}
