/**
 * The console's one way to the hub's API (same origin): JSON in and out, the session cookie sent by the
 * browser, the session's CSRF token on every change, problem details turned into ApiError. A 401 tells
 * the app the session is gone (it shows the login again).
 */

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  issues?: Array<{ path: string; message: string }>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
  }
}

let csrfToken: string | null = null;
let onUnauthenticated: () => void = () => undefined;

export function setCsrfToken(t: string | null): void {
  csrfToken = t;
}

export function whenUnauthenticated(f: () => void): void {
  onUnauthenticated = f;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const r = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (r.status === 204) return undefined as T;
  const text = await r.text();
  if (!r.ok) {
    let p: Problem | null = null;
    try {
      p = JSON.parse(text) as Problem;
    } catch {
      p = null;
    }
    if (r.status === 401 && path !== '/api/session') onUnauthenticated();
    throw new ApiError(r.status, p);
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Query string of the defined values. */
export function query(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

// What the API answers (the fields the console shows).

export type Permission = string;

export interface Me {
  operator: { id: string; role: 'admin' | 'security' | 'manager' | 'auditor' | 'root'; buildings: string[]; mustChangePassword: boolean };
  permissions: Permission[];
  csrfToken?: string;
}

export interface Registration {
  id: string;
  personId: string;
  name: string;
  idNumberMasked: string;
  buildingId: string;
  room: string;
  photos: Array<{ name: string; verdict: 'passed' | 'refused'; reasons: string[] }>;
  realName: 'verified' | 'mismatch' | 'unavailable' | 'unchecked';
  status: 'pending' | 'approved' | 'rejected';
  decidedBy: string | null;
  decidedAt: number | null;
  reason: string | null;
  submittedAt: number;
  identityPhoto: boolean;
}

export interface Resident {
  personId: string;
  status: 'pending' | 'active' | 'revoked';
  name: string | null;
  room: string | null;
  buildings: string[];
  access: Array<{ doorIds: string[]; buildingIds: string[]; validFrom?: string; validUntil?: string }>;
  templates: number;
  photos: number;
  tags: string[];
  published: boolean;
  updatedAt: number;
}

/** A resident not let in at any door for the report's days (GET /api/residents/unused). */
export interface UnusedResident {
  personId: string;
  name: string | null;
  room: string | null;
  buildings: string[];
  createdAt: number;
  lastSeenAt: number | null;
  confirmedAt: number | null;
}

export interface Door {
  doorId: string;
  buildingId: string;
  online: boolean;
  terminals: Array<{ terminalId: string; online: boolean; lastHeartbeat: number | null; faults: string[] | null }>;
  alarms: Array<{ type: string; at: number; terminalId: string }>;
}

export interface Terminal {
  terminalId: string;
  doorId: string;
  buildingId: string;
  status: 'active' | 'revoked';
  online: boolean;
  lastHeartbeat: number | null;
  rosterVersion: number | null;
  rosterLag: number | null;
  outboxDepth: number | null;
  softwareVersion: string | null;
  /** The installed version as the update agent knows it (else the software version). */
  version: string | null;
  /** What the update agent last did (idle, trial, committed, rolled-back, refused) and the slot that runs. */
  update: { state: string; slot: 'a' | 'b' | null } | null;
  modelVersion: string | null;
  faults: string[] | null;
  certificate: string | null;
}

export interface Sighting {
  id: number;
  tag: string;
  personId: string;
  doorId: string;
  terminalId: string;
  score: number;
  at: number;
}

export interface Alerts {
  active: Array<{ personId: string; kind: string; tags: string[]; note: string | null }>;
  sightings: Sighting[];
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}
