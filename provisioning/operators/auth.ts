/**
 * Who is calling: a session (cookie), an API token (bearer, for scripts) or the root operator (a
 * request signed with the passphrase's key, root.ts). Login is throttled per account and per address
 * (AuthConfig): too many failures within the window lock the account (or the address) for a while; a
 * locked login is refused before the password is checked, and an unknown account counts and answers
 * exactly like a known one (no account enumeration). Session ids and token secrets are 32 random bytes
 * stored as SHA-256; the CSRF token of a session is an HMAC of its id, so the hub keeps nothing more and
 * nobody without the cookie can compute it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import { isId } from '../../runtime/protocol/ids';
import type { HubDb } from '../db';
import { OperatorAccounts, type Operator } from './accounts';
import type { AuthConfig } from './config';
import { verifyDecoy, verifyPassword } from './passwords';
import { ROOT_OPERATOR, type Role } from './roles';

export class LoginError extends TerminalError {
  readonly code = 'login-failed';
  constructor() {
    super('wrong operator id or password');
  }
}

export class LoginLockedError extends TerminalError {
  readonly code = 'login-locked';
  constructor(readonly retryAfterMs: number) {
    super('too many failed logins: try again later');
  }
}

export class TokenError extends TerminalError {
  readonly code = 'token-unknown';
}

/** The authenticated caller. */
export interface Principal {
  id: string;
  role: Role | 'root';
  /** A manager's buildings (empty for the other roles, who act on every building). */
  buildings: readonly string[];
  via: 'session' | 'token' | 'root';
  mustChangePassword: boolean;
  /** SHA-256 of the session id (via session). */
  sessionHash?: string;
  /** The API token's id (via token). */
  tokenId?: string;
}

export const ROOT_PRINCIPAL: Principal = { id: ROOT_OPERATOR, role: 'root', buildings: [], via: 'root', mustChangePassword: false };

export interface ApiToken {
  id: string;
  operatorId: string;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const random = (): string => randomBytes(32).toString('base64url');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('doorway-csrf-v1').digest('base64url');
}

export function principalOf(op: Operator, via: Principal['via'], ref: { sessionHash?: string | undefined; tokenId?: string | undefined } = {}): Principal {
  return {
    id: op.id, role: op.role, buildings: op.buildings, via, mustChangePassword: op.mustChangePassword,
    ...(ref.sessionHash ? { sessionHash: ref.sessionHash } : {}),
    ...(ref.tokenId ? { tokenId: ref.tokenId } : {}),
  };
}

export class Authenticator {
  readonly accounts: OperatorAccounts;
  /**
   * A session's last use (and a token's) is written when it is older than this, not on every request:
   * each write is a durable commit that holds the hub's event loop for milliseconds. An idle session
   * may so end up to this much earlier than `sessionIdleMs` (a minute at most: a 30th of it).
   */
  readonly touchMs: number;

  constructor(
    private readonly db: HubDb,
    private readonly clock: Clock,
    readonly config: AuthConfig,
  ) {
    this.accounts = new OperatorAccounts(db, clock);
    this.touchMs = Math.min(60_000, Math.floor(config.sessionIdleMs / 30));
  }

  // ------------------------------------------------------------------------------------------ login

  /** Checks the password; returns a new session id (for the cookie) and its CSRF token. */
  async login(id: string, password: string, address: string): Promise<{ sessionId: string; csrfToken: string; operator: Operator }> {
    const accountKey = `account:${id.toLowerCase()}`;
    const addressKey = `address:${address}`;
    const lockedFor = Math.max(this.lockedFor(accountKey), this.lockedFor(addressKey));
    if (lockedFor > 0) {
      this.db.audit(isId(id) ? id : '-', 'login.locked', isId(id) ? id : '-', { address }, this.clock.now());
      throw new LoginLockedError(lockedFor);
    }
    const op = isId(id) ? this.accounts.get(id) : null;
    const hash = op ? this.accounts.passwordHash(op.id) : null;
    const ok = hash !== null ? await verifyPassword(hash, password) : (await verifyDecoy(password), false);
    const now = this.clock.now();
    if (!ok || !op || op.disabled) {
      this.db.tx(() => {
        this.fail(accountKey, this.config.accountMaxFailures, this.config.accountLockMs, now);
        this.fail(addressKey, this.config.addressMaxFailures, this.config.addressLockMs, now);
        this.db.audit(op?.id ?? '-', 'login.failed', op?.id ?? '-', { address }, now);
      });
      throw new LoginError();
    }
    const sessionId = random();
    this.db.tx(() => {
      this.db.db.prepare('DELETE FROM login_throttle WHERE key = ?').run(accountKey);
      this.db.db.prepare('INSERT INTO operator_sessions (id_hash, operator_id, created_at, last_seen_at, address) VALUES (?, ?, ?, ?, ?)').run(sha256(sessionId), op.id, now, now, address);
      this.db.audit(op.id, 'login', op.id, { address }, now);
    });
    return { sessionId, csrfToken: csrfTokenOf(sessionId), operator: op };
  }

  private lockedFor(key: string): number {
    const r = this.db.db.prepare('SELECT locked_until FROM login_throttle WHERE key = ?').get(key) as { locked_until: number | null } | undefined;
    return r?.locked_until ? Math.max(0, r.locked_until - this.clock.now()) : 0;
  }

  private fail(key: string, max: number, lockMs: number, now: number): void {
    const r = this.db.db.prepare('SELECT failures, window_start FROM login_throttle WHERE key = ?').get(key) as { failures: number; window_start: number } | undefined;
    const fresh = !r || now - r.window_start >= this.config.failureWindowMs;
    const failures = fresh ? 1 : r.failures + 1;
    const start = fresh ? now : r.window_start;
    const locked = failures >= max ? now + lockMs : null;
    this.db.db.prepare(`INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, locked_until = excluded.locked_until`)
      .run(key, locked ? 0 : failures, locked ? now : start, locked);
  }

  // --------------------------------------------------------------------------------------- sessions

  /** The session's operator, or null (unknown, idle too long, too old, operator disabled). Touches it. */
  session(sessionId: string): Principal | null {
    const h = sha256(sessionId);
    const r = this.db.db.prepare('SELECT operator_id, created_at, last_seen_at FROM operator_sessions WHERE id_hash = ?').get(h) as { operator_id: string; created_at: number; last_seen_at: number } | undefined;
    if (!r) return null;
    const now = this.clock.now();
    const op = this.accounts.get(r.operator_id);
    if (!op || op.disabled || !this.sessionAlive(r, now)) {
      this.db.db.prepare('DELETE FROM operator_sessions WHERE id_hash = ?').run(h);
      return null;
    }
    if (now - r.last_seen_at >= this.touchMs) this.db.db.prepare('UPDATE operator_sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, h);
    return principalOf(op, 'session', { sessionHash: h });
  }

  private sessionAlive(r: { created_at: number; last_seen_at: number }, now: number): boolean {
    return now - r.last_seen_at < this.config.sessionIdleMs && now - r.created_at < this.config.sessionAbsoluteMs;
  }

  /**
   * The caller of a long request (the live feed) as they stand now, changing nothing: their current role
   * and buildings, or null when the session or token has ended since (logout, timeout, revocation, a
   * password change or reset) or the operator was disabled. Root stays root.
   */
  current(p: Principal): Principal | null {
    if (p.role === 'root') return p;
    const op = this.accounts.get(p.id);
    if (!op || op.disabled) return null;
    if (p.via === 'session') {
      const r = this.db.db.prepare('SELECT operator_id, created_at, last_seen_at FROM operator_sessions WHERE id_hash = ?').get(p.sessionHash ?? '') as { operator_id: string; created_at: number; last_seen_at: number } | undefined;
      if (!r || r.operator_id !== op.id || !this.sessionAlive(r, this.clock.now())) return null;
    } else {
      const r = this.db.db.prepare('SELECT operator_id, revoked_at FROM api_tokens WHERE id = ?').get(p.tokenId ?? '') as { operator_id: string; revoked_at: number | null } | undefined;
      if (!r || r.operator_id !== op.id || r.revoked_at !== null) return null;
    }
    return principalOf(op, p.via, p);
  }

  logout(sessionHash: string, operatorId: string): void {
    this.db.tx(() => {
      this.db.db.prepare('DELETE FROM operator_sessions WHERE id_hash = ?').run(sessionHash);
      this.db.audit(operatorId, 'logout', operatorId, {}, this.clock.now());
    });
  }

  // ----------------------------------------------------------------------------------------- tokens

  /** A new API token for `operatorId` (shown once: `dwt_<id>.<secret>`). */
  createToken(operatorId: string, label: string, by: string): { token: string; info: ApiToken } {
    const op = this.accounts.must(operatorId);
    const id = `tok-${randomBytes(6).toString('hex')}`;
    const secret = random();
    const now = this.clock.now();
    this.db.tx(() => {
      this.db.db.prepare('INSERT INTO api_tokens (id, operator_id, secret_hash, label, created_at) VALUES (?, ?, ?, ?, ?)').run(id, op.id, sha256(secret), label, now);
      this.db.audit(by, 'token.create', op.id, { token: id, label }, now);
    });
    return { token: `dwt_${id}.${secret}`, info: this.mustToken(id) };
  }

  tokens(operatorId?: string): ApiToken[] {
    const rows = (operatorId === undefined
      ? this.db.db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id').all()
      : this.db.db.prepare('SELECT * FROM api_tokens WHERE operator_id = ? ORDER BY created_at, id').all(operatorId)) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: r['id'] as string,
      operatorId: r['operator_id'] as string,
      label: r['label'] as string,
      createdAt: r['created_at'] as number,
      lastUsedAt: (r['last_used_at'] as number | null) ?? null,
      revokedAt: (r['revoked_at'] as number | null) ?? null,
    }));
  }

  token(id: string): ApiToken | null {
    return this.tokens().find((t) => t.id === id) ?? null;
  }

  revokeToken(id: string, by: string): ApiToken {
    const t = this.mustToken(id);
    const now = this.clock.now();
    this.db.tx(() => {
      this.db.db.prepare('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(now, id);
      this.db.audit(by, 'token.revoke', t.operatorId, { token: id }, now);
    });
    return this.mustToken(id);
  }

  /** The operator of a bearer token, or null (unknown, revoked, operator disabled). */
  bearer(token: string): Principal | null {
    const m = /^dwt_(tok-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    const r = this.db.db.prepare('SELECT operator_id, secret_hash, revoked_at, last_used_at FROM api_tokens WHERE id = ?').get(m[1]) as { operator_id: string; secret_hash: string; revoked_at: number | null; last_used_at: number | null } | undefined;
    if (!r || r.revoked_at !== null || !same(r.secret_hash, sha256(m[2] ?? ''))) return null;
    const op = this.accounts.get(r.operator_id);
    if (!op || op.disabled) return null;
    const now = this.clock.now();
    if (r.last_used_at === null || now - r.last_used_at >= this.touchMs) this.db.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, m[1]);
    return principalOf(op, 'token', { tokenId: m[1] });
  }

  private mustToken(id: string): ApiToken {
    const t = this.token(id);
    if (!t) throw new TokenError(`no token ${id}`);
    return t;
  }
}

/** Checks the CSRF header of a cookie-authenticated request against its session. */
export function csrfMatches(sessionId: string, header: string | undefined): boolean {
  return header !== undefined && same(csrfTokenOf(sessionId), header);
}
