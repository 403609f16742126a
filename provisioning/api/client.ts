/**
 * A small typed client of the hub's API, for the `provision` command line (which becomes a client of
 * the hub) and for scripts and tests. It pins the community CA (TLS to the hub's certificate from it)
 * and speaks with one credential: an API token, the root key (each request signed, root.ts), or a login
 * session (cookie and CSRF header kept in memory). A problem answer becomes an ApiClientError with its
 * status, code and issues.
 */
import type { KeyObject } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { TerminalError } from '../../core/errors';
import { ROOT_AUTH_SCHEME, signRootToken } from '../operators/root';
import type { RolloutView } from '../update/rollouts';
import type { PassRecord, TerminalRecord } from '../db';
import type { ErasureReport, ErasureStatus } from '../admin/erasure';
import type { PersonExport } from '../admin/person-export';
import type { Problem } from './problem';
import type { UnusedResident } from '../retention/unused';

export type { RolloutView };
export interface UpdatesStatus {
  serving: boolean;
  published: string[];
  rollout: RolloutView | null;
}

export class ApiClientError extends TerminalError {
  readonly code: string;
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    message: string,
  ) {
    super(message);
    this.code = problem?.type.split('/').pop() ?? `http-${status}`;
  }
}

export type Credential =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'root'; key: KeyObject; now?: () => number }
  | { kind: 'session'; cookie: string; csrf: string };

export interface ClientOptions {
  /** https://HOST:PORT */
  baseUrl: string;
  /** The community CA certificate (PEM): the only one the client trusts. */
  ca: string | Buffer;
  credential?: Credential;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class HubClient {
  private credential: Credential;

  constructor(private readonly o: ClientOptions) {
    this.credential = o.credential ?? { kind: 'none' };
  }

  /** Sends one request; `extraHeaders` may override the credential's (tests). */
  raw(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
    const url = new URL(path, this.o.baseUrl);
    const headers: Record<string, string> = { accept: 'application/json' };
    const c = this.credential;
    if (c.kind === 'token') headers['authorization'] = `Bearer ${c.token}`;
    if (c.kind === 'root') headers['authorization'] = `${ROOT_AUTH_SCHEME} ${signRootToken(c.key, { method, path: url.pathname }, (c.now ?? Date.now)())}`;
    if (c.kind === 'session') {
      headers['cookie'] = c.cookie;
      headers['x-csrf-token'] = c.csrf;
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, extraHeaders);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, ca: this.o.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    if (r.status >= 400) {
      let p: Problem | null = null;
      try {
        p = JSON.parse(r.body) as Problem;
      } catch {
        p = null;
      }
      throw new ApiClientError(r.status, p, `${method} ${path}: ${r.status} ${p?.detail ?? ''}`.trim());
    }
    return (r.body === '' ? undefined : JSON.parse(r.body)) as T;
  }

  /** Logs in and keeps the session (cookie and CSRF token) for the next calls. */
  async login(id: string, password: string): Promise<{ operator: OperatorView; csrfToken: string }> {
    this.credential = { kind: 'none' };
    const r = await this.raw('POST', '/api/session', { id, password });
    if (r.status !== 200) throw new ApiClientError(r.status, safeJson(r.body) as Problem | null, `login: ${r.status}`);
    const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
    const cookie = set.map((s) => s.split(';')[0] ?? '').find((s) => s.startsWith('__Host-doorway-session=')) ?? '';
    const out = JSON.parse(r.body) as { operator: OperatorView; csrfToken: string };
    this.credential = { kind: 'session', cookie, csrf: out.csrfToken };
    return out;
  }

  logout = (): Promise<void> => this.call('DELETE', '/api/session');
  me = (): Promise<{ operator: OperatorView }> => this.call('GET', '/api/me');
  changePassword = (current: string, next: string): Promise<void> => this.call('POST', '/api/me/password', { current, next });
  createMyToken = (label: string): Promise<{ token: string; info: TokenInfo }> => this.call('POST', '/api/me/tokens', { label });
  revokeMyToken = (id: string): Promise<TokenInfo> => this.call('DELETE', `/api/me/tokens/${id}`);

  operators = {
    list: (): Promise<{ items: Operator[] }> => this.call('GET', '/api/operators'),
    add: (o: { id: string; role: Operator['role']; buildings?: string[] }): Promise<{ operator: Operator; password: string }> => this.call('POST', '/api/operators', o),
    disable: (id: string): Promise<Operator> => this.call('POST', `/api/operators/${id}/disable`),
    resetPassword: (id: string): Promise<{ operator: Operator; password: string }> => this.call('POST', `/api/operators/${id}/password-reset`),
  };

  registrations = {
    submit: (r: RegistrationIn): Promise<{ id: string; status: 'pending' }> => this.call('POST', '/api/registrations', r),
    list: (q: { status?: string; building?: string } = {}): Promise<{ items: Registration[] }> => this.call('GET', `/api/registrations${query(q)}`),
    show: (id: string): Promise<Registration & { photoData: Array<{ name: string; contentType: string; data: string }> }> => this.call('GET', `/api/registrations/${id}`),
    approve: (id: string, access: Access = {}): Promise<Registration> => this.call('POST', `/api/registrations/${id}/approve`, access),
    reject: (id: string, reason: string): Promise<Registration> => this.call('POST', `/api/registrations/${id}/reject`, { reason }),
  };

  /** A person's rights: their export, their erasure (it asks the hub to erase: confirm), who has confirmed it. */
  persons = {
    export: (id: string): Promise<PersonExport> => this.call('GET', `/api/persons/${id}/export`),
    erase: (id: string): Promise<ErasureReport> => this.call('POST', `/api/persons/${id}/erase`, { confirm: true }),
    erasureStatus: (id: string): Promise<ErasureStatus> => this.call('GET', `/api/persons/${id}/erasure`),
  };

  residents = {
    list: (q: { q?: string; status?: string; building?: string; page?: number; pageSize?: number } = {}): Promise<{ items: Resident[]; total: number; page: number; pageSize: number }> => this.call('GET', `/api/residents${query(q)}`),
    show: (id: string): Promise<Resident> => this.call('GET', `/api/residents/${id}`),
    /** Active residents not seen at any door for `days` days (provisioning/retention/unused.ts). */
    unused: (q: { days?: number; building?: string } = {}): Promise<{ days: number; items: UnusedResident[] }> => this.call('GET', `/api/residents/unused${query(q)}`),
    /** The resident still lives here (hidden from the unused report for its days again). */
    confirm: (id: string): Promise<{ personId: string; confirmedAt: number }> => this.call('POST', `/api/residents/${id}/confirm`, {}),
    updateAccess: (id: string, access: Access): Promise<Resident> => this.call('PUT', `/api/residents/${id}/access`, access),
    revoke: (id: string, reason?: string): Promise<Resident> => this.call('POST', `/api/residents/${id}/revoke`, reason === undefined ? {} : { reason }),
    /** Staff add a resident (photos or noFace, with access), or register one (`pending`) for a later approval. */
    add: (r: ResidentIn): Promise<Resident> => this.call('POST', '/api/residents', r),
    approve: (id: string, access: Access): Promise<Resident> => this.call('POST', `/api/residents/${id}/approve`, access),
    change: (id: string, c: Access & { photos?: PhotoIn[]; label?: string }): Promise<Resident> => this.call('PATCH', `/api/residents/${id}`, c),
    setCredentials: (id: string, c: { cards?: Array<[number, number]>; pin?: string | null; duressPin?: string | null }): Promise<{ personId: string; cards: number; pin: boolean; duressPin: boolean }> =>
      this.call('PUT', `/api/residents/${id}/credentials`, c),
    /** Forget the resident's adapted templates on the hub and at every door (enrolled ones stay). */
    resetAdaptation: (id: string): Promise<{ personId: string; deleted: number; commands: number }> => this.call('POST', `/api/residents/${id}/adaptation/reset`),
    /** The resident's own pass for a visitor. */
    issuePass: (id: string, p: PassIn): Promise<IssuedPass> => this.call('POST', `/api/residents/${id}/passes`, p),
  };

  alertTags = {
    add: (a: { tag: string; personId?: string; photos?: PhotoIn[]; note?: string }): Promise<{ personId: string; tags: string[] }> => this.call('POST', '/api/alerts', a),
    clear: (tag: string): Promise<{ untagged: string[]; revoked: string[] }> => this.call('POST', `/api/alerts/${tag}/clear`),
  };

  terminalAdmin = {
    add: (t: { id: string; doorId: string; buildingId?: string; cameraUrl?: string }): Promise<{ terminal: TerminalInfo; files: Array<{ name: string; data: string; private: boolean }> }> => this.call('POST', '/api/terminals', t),
    revoke: (id: string): Promise<{ broker: 'reloaded' | 'not-running' }> => this.call('POST', `/api/terminals/${id}/revoke`),
    renew: (which: { ids: string[] } | { due: true }): Promise<{ renewed: Array<{ terminalId: string; notAfter: number; cert: string }> }> => this.call('POST', '/api/terminals/renew', which),
    wipe: (id: string, confirm: boolean, waitMs = 0): Promise<{ commands: CommandState[] }> => this.call('POST', `/api/terminals/${id}/wipe`, { confirm, waitMs }),
    resync: (id: string, waitMs = 0): Promise<{ commands: CommandState[] }> => this.call('POST', `/api/terminals/${id}/resync`, { waitMs }),
    reloadConfig: (o: { terminalId?: string; waitMs?: number } = {}): Promise<{ commands: CommandState[] }> => this.call('POST', '/api/terminals/reload-config', o),
  };

  passes = {
    list: (): Promise<{ items: Array<PassInfo & { usedBy: Record<string, number> }> }> => this.call('GET', '/api/passes'),
    issue: (p: PassIn): Promise<IssuedPass> => this.call('POST', '/api/passes', p),
    revoke: (id: string): Promise<PassInfo> => this.call('POST', `/api/passes/${id}/revoke`),
  };

  doors = {
    list: (): Promise<{ items: unknown[] }> => this.call('GET', '/api/doors'),
    unlock: (id: string, reason: string, o: { seconds?: number; waitMs?: number } = {}): Promise<{ commands: CommandState[] }> =>
      this.call('POST', `/api/doors/${id}/unlock`, { reason, ...o }),
  };

  alerts = (tag?: string): Promise<{ active: Array<{ personId: string; kind: string; tags: string[]; note: string | null }>; sightings: Array<{ id: number; tag: string; personId: string; doorId: string; terminalId: string; score: number; at: number; webhook: string }> }> =>
    this.call('GET', `/api/alerts${query({ tag })}`);
  terminals = (): Promise<{ items: unknown[]; certificates: Array<{ name: string; expiresAt: number; state: string }> }> => this.call('GET', '/api/terminals');
  /** Software rollouts (provisioning/api/routes/updates.ts). */
  updates = {
    status: (): Promise<UpdatesStatus> => this.call('GET', '/api/updates'),
    log: (q: { id?: number; after?: number } = {}): Promise<{ id: number | null; lines: Array<{ id: number; at: number; line: string }> }> => this.call('GET', `/api/updates/rollout/log${query(q)}`),
    rollout: (r: { version: string; canary?: string[]; waves?: number[]; maxFailures?: number }): Promise<RolloutView> => this.call('POST', '/api/updates/rollout', r),
    pause: (): Promise<RolloutView> => this.call('POST', '/api/updates/rollout/pause'),
    resume: (): Promise<RolloutView> => this.call('POST', '/api/updates/rollout/resume'),
    abort: (): Promise<RolloutView> => this.call('POST', '/api/updates/rollout/abort'),
  };
  events = (q: { after?: number; last?: number; limit?: number; type?: string; door?: string; terminal?: string } = {}): Promise<{ items: unknown[]; next: number }> => this.call('GET', `/api/events${query(q)}`);
  audit = (q: { before?: number; limit?: number; actor?: string; action?: string } = {}): Promise<{ items: Array<{ id: number; at: number; actor: string; action: string; subject: string; detail: Record<string, unknown> }>; next: number | null }> =>
    this.call('GET', `/api/audit${query(q)}`);
}

function query(q: Record<string, string | number | undefined>): string {
  const s = new URLSearchParams(Object.entries(q).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return s ? `?${s}` : '';
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export interface OperatorView {
  id: string;
  role: 'admin' | 'security' | 'manager' | 'auditor' | 'root';
  buildings: string[];
  via: 'session' | 'token' | 'root';
  mustChangePassword: boolean;
}
export interface Operator {
  id: string;
  role: 'admin' | 'security' | 'manager' | 'auditor';
  buildings: string[];
  mustChangePassword: boolean;
  disabled: boolean;
  createdAt: number;
  createdBy: string;
}
export interface TokenInfo {
  id: string;
  operatorId: string;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}
export interface Access {
  doors?: string[];
  buildings?: string[];
  from?: string;
  until?: string;
  hours?: string[];
}
export interface RegistrationIn {
  name: string;
  idNumber: string;
  buildingId: string;
  room: string;
  photos: Array<{ contentType: 'image/jpeg' | 'image/png'; data: string }>;
}
export interface Registration {
  id: string;
  personId: string;
  name: string;
  idNumberMasked: string;
  buildingId: string;
  room: string;
  photos: Array<{ name: string; verdict: 'passed' | 'refused'; reasons: string[] }>;
  realName: string;
  status: 'pending' | 'approved' | 'rejected';
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  submittedAt: number;
}
export interface Resident {
  personId: string;
  status: 'pending' | 'active' | 'revoked';
  name: string | null;
  room: string | null;
  buildings: string[];
  access: Array<{ doorIds: string[]; buildingIds: string[]; validFrom?: string; validUntil?: string; windows?: Array<{ days: number[]; start: string; end: string }> }>;
  templates: number;
  photos: number;
  tags: string[];
  published: boolean;
  createdAt: number;
  updatedAt: number;
}
export interface PhotoIn {
  contentType: 'image/jpeg' | 'image/png';
  data: string;
}
export interface ResidentIn extends Access {
  id: string;
  photos?: PhotoIn[];
  noFace?: boolean;
  label?: string;
  pending?: boolean;
}
export interface CommandState {
  id: number;
  terminalId: string;
  status: string;
}
/** A terminal as the API answers it: the hub database's record. */
export type TerminalInfo = TerminalRecord;
export interface PassIn {
  doors?: string[];
  buildings?: string[];
  notBefore?: number;
  validForMs?: number;
  uses?: number;
  label?: string;
}
/** A visitor pass as the API answers it: the hub database's record. */
export type PassInfo = PassRecord;
export interface IssuedPass {
  pass: PassInfo;
  text: string;
  qr: { version: number; size: number };
}
