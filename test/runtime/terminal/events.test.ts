import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { lockConfigSchema } from '../../../drivers/lock';
import type { LoopEvent } from '../../../runtime/loop/door-loop';
import { openSyncDb } from '../../../runtime/sync/db';
import { EventRecorder, lockEventRecords, loopEventRecords, type EventBody } from '../../../runtime/terminal/events';

function recorder(memoryCapacity = 100) {
  const clock = new FakeClock();
  const states: boolean[] = [];
  const r = new EventRecorder({ clock, log: silentLogger(), capacity: 1000, memoryCapacity, onStoreState: (ok) => states.push(ok) });
  return { clock, r, states };
}

const tamper: EventBody = { type: 'alarm.tamper', input: 'tamper' };
const stall: EventBody = { type: 'camera.stall', silentMs: 3000 };

describe('EventRecorder', () => {
  it('keeps what is recorded before the sync file is open and puts it in the outbox first, in order', () => {
    const { clock, r } = recorder();
    r.record(tamper, clock.now());
    r.record(stall, clock.now());
    expect(r.inMemory()).toBe(2);
    r.useStore(openSyncDb(':memory:'));
    r.record({ type: 'alarm.forced-open' }, clock.now());
    expect(r.inMemory()).toBe(0);
    expect(r.outbox?.after(0, 10).map((row) => (JSON.parse(row.body) as { type: string }).type)).toEqual(['alarm.tamper', 'camera.stall', 'alarm.forced-open']);
  });

  it('drops an event its schema refuses without holding up the ones after it', () => {
    const { clock, r } = recorder();
    r.useStore(openSyncDb(':memory:'));
    r.record({ type: 'alarm.tamper', input: '' }, clock.now()); // input must not be empty
    r.record(tamper, clock.now());
    expect(r.inMemory()).toBe(0);
    expect(r.outbox?.after(0, 10).map((row) => (JSON.parse(row.body) as { type: string; input: string }).input)).toEqual(['tamper']);
  });

  it('without a sync file, holds events in memory up to memoryCapacity, dropping plain events before security events, and says the store is unavailable', () => {
    const { clock, r, states } = recorder(3);
    r.useStore(null);
    expect(states).toEqual([false]);
    r.record(stall, clock.now());
    r.record(tamper, clock.now());
    r.record(stall, clock.now());
    r.record(tamper, clock.now()); // full: the oldest camera stall goes
    r.record(tamper, clock.now()); // full: the other camera stall goes
    expect(r.inMemory()).toBe(3);
    r.record(stall, clock.now()); // full of security events: this plain one is the one lost
    expect(r.inMemory()).toBe(3);
    // Once a file takes events, the three alarms go in and the store is said to be back.
    r.useStore(openSyncDb(':memory:'));
    expect(r.outbox?.after(0, 10).map((row) => (JSON.parse(row.body) as { type: string }).type)).toEqual(['alarm.tamper', 'alarm.tamper', 'alarm.tamper']);
    expect(states).toEqual([false, true]);
  });
});

describe('what decisions and lock transitions record', () => {
  const decision = (lock: string | null): LoopEvent => ({
    type: 'decision',
    at: 1,
    trackId: 1,
    decision: { kind: 'grant', personId: 'p-ana', match: { personId: 'p-ana', score: 0.9 }, alerts: [] } as unknown as Extract<LoopEvent, { type: 'decision' }>['decision'],
    latencyMs: 300,
    frames: 3,
    liveness: { verdict: 'live', score: 0.9, reasons: [] },
    lock,
  });

  it('records a release for a face grant only when the lock released the door', () => {
    expect(loopEventRecords(decision('unlocked'), 'door-1', 5000).map((e) => e.type)).toEqual(['entry.granted', 'door.released']);
    expect(loopEventRecords(decision('held-by-fire'), 'door-1', 5000).map((e) => e.type)).toEqual(['entry.granted']);
    expect(loopEventRecords(decision('relay-fault'), 'door-1', 5000).map((e) => e.type)).toEqual(['entry.granted']);
  });

  const denial = (reason: string): LoopEvent => ({
    ...(decision(null) as Extract<LoopEvent, { type: 'decision' }>),
    decision: { kind: 'deny', reason, match: { personId: 'p-ana', score: 0.41, margin: 0.2 }, alerts: [] } as unknown as Extract<LoopEvent, { type: 'decision' }>['decision'],
  });

  it('records a denial of an unknown, ambiguous or not-live face without the nearest resident, keeping the score as a number', () => {
    for (const reason of ['unknown', 'ambiguous', 'not-live', 'poor-quality']) {
      const [e] = loopEventRecords(denial(reason), 'door-1', 5000);
      expect(e).toMatchObject({ type: 'entry.denied', reason, personId: null, score: 0.41 });
      expect(JSON.stringify(e)).not.toContain('p-ana');
    }
  });

  it('records the person of a denial that followed a confident identification (revoked, elsewhere, outside hours, expired)', () => {
    for (const reason of ['revoked', 'not-authorised-here', 'outside-hours', 'expired']) {
      expect(loopEventRecords(denial(reason), 'door-1', 5000)[0]).toMatchObject({ type: 'entry.denied', reason, personId: 'p-ana' });
    }
  });

  it('records exit-button and fire releases from the lock, and leaves grant releases to whoever asked for the grant', () => {
    const lock = lockConfigSchema.parse({ lockType: 'fail-safe', unlockPulseMs: 4000 });
    expect(lockEventRecords({ type: 'unlocked', reason: 'exit-button', source: null, at: 1 }, lock)).toEqual([
      { type: 'door.released', source: 'exit-button', personId: null, commandId: null, requestedBy: null, durationMs: 4000 },
    ]);
    expect(lockEventRecords({ type: 'unlocked', reason: 'fire', source: null, at: 1 }, lock)).toEqual([
      { type: 'door.released', source: 'fire', personId: null, commandId: null, requestedBy: null, durationMs: null },
    ]);
    expect(lockEventRecords({ type: 'unlocked', reason: 'grant', source: 'remote', at: 1 }, lock)).toEqual([]);
  });
});
