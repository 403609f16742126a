import { FakeClock, SystemClock, type Clock } from '../../core/clock';
import type { AdminContext } from '../../provisioning/admin/context';
import type { Enroller } from '../../provisioning/admin/enrol';
import type { Community } from '../../provisioning/community';

/**
 * An admin context for library calls in tests: the community's own store, the system clock (or a
 * fake one stopped at `now`, or the clock given), and `test-operator` unless an actor is named.
 */
export function admin(
  c: Community,
  o: { actor?: string; now?: number; clock?: Clock; enroller?: Enroller | null; passphrase?: string } = {},
): AdminContext {
  const clock = o.clock ?? (o.now !== undefined ? new FakeClock(o.now) : new SystemClock());
  return {
    clock,
    actor: o.actor ?? 'test-operator',
    community: c,
    store: c.db,
    ...(o.enroller !== undefined ? { enroller: o.enroller } : {}),
    ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
  };
}
