/** The audit log: who did what, when (every admin operation writes its row with the operator). */
import type { AuditRecord } from '../db';
import type { AdminContext } from './context';

/** The last `limit` rows (default 100), oldest first. */
export function auditLog(ctx: Pick<AdminContext, 'store'>, input: { limit?: number } = {}): AuditRecord[] {
  return ctx.store.auditLog(input.limit ?? 100);
}
