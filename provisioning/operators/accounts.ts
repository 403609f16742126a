/**
 * Operator accounts in hub.db (migration 6): id (the one identifier rule), role, buildings (a
 * manager's), argon2id password hash, whether the password must be changed (every password an admin
 * or `provision` hands out is one-time), disabled or not. Every change is one transaction with its
 * audit row, whose actor is the authenticated operator (or `root`).
 */
import { z } from 'zod';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import { IdSchema, parseId } from '../../runtime/protocol/ids';
import type { HubDb } from '../db';
import { hashPassword, oneTimePassword, PasswordSchema, verifyPassword } from './passwords';
import { ROOT_OPERATOR, RoleSchema } from './roles';

export class OperatorError extends TerminalError {
  readonly code: 'operator-exists' | 'operator-unknown' | 'operator-input' | 'operator-password';
  constructor(code: OperatorError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export const OperatorSchema = z.strictObject({
  id: IdSchema,
  role: RoleSchema,
  buildings: z.array(IdSchema),
  mustChangePassword: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.number().int(),
  createdBy: z.string(),
});
export type Operator = z.infer<typeof OperatorSchema>;

export const NewOperatorSchema = z.strictObject({
  id: IdSchema,
  role: RoleSchema,
  buildings: z.array(IdSchema).max(1000).default([]),
});
export type NewOperator = z.input<typeof NewOperatorSchema>;

type Row = Record<string, unknown>;

function fromRow(r: Row): Operator {
  return OperatorSchema.parse({
    id: r['id'],
    role: r['role'],
    buildings: JSON.parse(r['buildings'] as string) as unknown,
    mustChangePassword: r['must_change_password'] === 1,
    disabled: r['disabled_at'] !== null,
    createdAt: r['created_at'],
    createdBy: r['created_by'],
  });
}

/** Who acts, for the audit row: an operator id or `root`. */
export interface Actor {
  id: string;
}

export class OperatorAccounts {
  constructor(
    private readonly db: HubDb,
    private readonly clock: Clock,
  ) {}

  get(id: string): Operator | null {
    const r = this.db.db.prepare('SELECT * FROM operators WHERE id = ?').get(id) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  list(): Operator[] {
    return (this.db.db.prepare('SELECT * FROM operators ORDER BY id').all() as Row[]).map(fromRow);
  }

  count(): number {
    return (this.db.db.prepare('SELECT COUNT(*) AS n FROM operators').get() as { n: number }).n;
  }

  /** A new operator with a one-time password (returned once, never stored in clear, never logged). */
  async add(input: NewOperator, by: Actor): Promise<{ operator: Operator; password: string }> {
    const parsed = NewOperatorSchema.safeParse(input);
    if (!parsed.success) throw new OperatorError('operator-input', parsed.error.issues.map((i) => `${i.path.join('.') || 'operator'}: ${i.message}`).join('; '));
    const o = parsed.data;
    if (o.id === ROOT_OPERATOR) throw new OperatorError('operator-input', `"${ROOT_OPERATOR}" is the built-in root operator (the community passphrase)`);
    if (o.role === 'manager' && o.buildings.length === 0) throw new OperatorError('operator-input', 'a manager needs at least one building (--buildings b-1,b-2)');
    if (o.role !== 'manager' && o.buildings.length > 0) throw new OperatorError('operator-input', `buildings are for managers; a ${o.role} acts on every building`);
    if (this.get(o.id) || this.db.db.prepare('SELECT 1 FROM operators WHERE lower(id) = lower(?)').get(o.id)) throw new OperatorError('operator-exists', `operator ${o.id} exists already`);
    const password = oneTimePassword();
    const passwordHash = await hashPassword(password);
    const now = this.clock.now();
    this.db.tx(() => {
      this.db.db.prepare(`INSERT INTO operators (id, role, buildings, password_hash, must_change_password, created_at, created_by, password_changed_at)
        VALUES (?, ?, ?, ?, 1, ?, ?, ?)`).run(o.id, o.role, JSON.stringify([...new Set(o.buildings)]), passwordHash, now, by.id, now);
      this.db.audit(by.id, 'operator.add', o.id, { role: o.role, buildings: o.buildings }, now);
    });
    return { operator: this.must(o.id), password };
  }

  /** A new one-time password; every session and token of the operator ends. */
  async resetPassword(id: string, by: Actor): Promise<{ operator: Operator; password: string }> {
    const op = this.must(parseId('operator', id));
    const password = oneTimePassword();
    const passwordHash = await hashPassword(password);
    const now = this.clock.now();
    this.db.tx(() => {
      this.db.db.prepare('UPDATE operators SET password_hash = ?, must_change_password = 1, password_changed_at = ? WHERE id = ?').run(passwordHash, now, op.id);
      this.endAccess(op.id, now);
      this.db.audit(by.id, 'operator.reset-password', op.id, {}, now);
    });
    return { operator: this.must(op.id), password };
  }

  /** The operator's own change: the current password, then a new one (not the same). Other sessions end. */
  async changePassword(id: string, current: string, next: string, keepSessionHash: string | null): Promise<Operator> {
    const row = this.db.db.prepare('SELECT password_hash FROM operators WHERE id = ?').get(id) as { password_hash: string } | undefined;
    if (!row || !(await verifyPassword(row.password_hash, current))) throw new OperatorError('operator-password', 'the current password is wrong');
    const p = PasswordSchema.safeParse(next);
    if (!p.success) throw new OperatorError('operator-input', `new password: ${p.error.issues.map((i) => i.message).join(', ')}`);
    if (next === current) throw new OperatorError('operator-input', 'new password: the same as the current one');
    const passwordHash = await hashPassword(next);
    const now = this.clock.now();
    this.db.tx(() => {
      this.db.db.prepare('UPDATE operators SET password_hash = ?, must_change_password = 0, password_changed_at = ? WHERE id = ?').run(passwordHash, now, id);
      this.db.db.prepare('DELETE FROM operator_sessions WHERE operator_id = ? AND id_hash != ?').run(id, keepSessionHash ?? '');
      this.db.audit(id, 'operator.password', id, {}, now);
    });
    return this.must(id);
  }

  /** Disabled: no login, every session and token ends at once. */
  disable(id: string, by: Actor): Operator {
    const op = this.must(parseId('operator', id));
    const now = this.clock.now();
    this.db.tx(() => {
      this.db.db.prepare('UPDATE operators SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?').run(now, op.id);
      this.endAccess(op.id, now);
      this.db.audit(by.id, 'operator.disable', op.id, {}, now);
    });
    return this.must(op.id);
  }

  /** The stored hash (for login only). */
  passwordHash(id: string): string | null {
    return (this.db.db.prepare('SELECT password_hash FROM operators WHERE id = ?').get(id) as { password_hash: string } | undefined)?.password_hash ?? null;
  }

  must(id: string): Operator {
    const op = this.get(id);
    if (!op) throw new OperatorError('operator-unknown', `no operator ${id}`);
    return op;
  }

  private endAccess(id: string, now: number): void {
    this.db.db.prepare('DELETE FROM operator_sessions WHERE operator_id = ?').run(id);
    this.db.db.prepare('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE operator_id = ?').run(now, id);
  }
}
