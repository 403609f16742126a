import fc from 'fast-check';
import { monotonicFactory } from 'ulid';
import { isId } from '../../../runtime/protocol/ids';
import { CommandBodySchema, CommandSchema, HealthSchema, isSecurityEvent, SECURITY_EVENT_TYPES, SyncEventSchema, type SyncEvent } from '../../../runtime/protocol/schemas';
import { parseTopic } from '../../../runtime/protocol/topics';
import { RosterBatchSchema } from '../../../runtime/roster/batch';
import { nastyId } from '../../fixtures/ids';

const ulid = monotonicFactory();
const at = Date.UTC(2026, 0, 1);
const samples: SyncEvent[] = [
  { id: ulid(), at, type: 'entry.granted', personId: 'p1', credential: 'face', score: 0.9, liveness: 0.7, latencyMs: 300 },
  { id: ulid(), at, type: 'entry.denied', reason: 'not-live', credential: 'face', personId: null, score: null, liveness: 0.1, latencyMs: 500 },
  { id: ulid(), at, type: 'alarm.forced-open' },
  { id: ulid(), at, type: 'alarm.held-open', openMs: 60_000 },
  { id: ulid(), at, type: 'alarm.tamper', input: 'case' },
  { id: ulid(), at, type: 'alarm.fire', state: 'active' },
  { id: ulid(), at, type: 'camera.stall', silentMs: 3000 },
  { id: ulid(), at, type: 'camera.recovery', stalledMs: 9000 },
  { id: ulid(), at, type: 'roster.integrity', rejectedRows: 2, code: 'row-auth-failed' },
  { id: ulid(), at, type: 'alert.sighting', tag: 'missing-person', personId: 'p7', doorId: 'gate-1', score: 0.81 },
  { id: ulid(), at, type: 'terminal.wiped', outcome: 'erased', persons: 120, templates: 360 },
  { id: ulid(), at, type: 'config.reload', outcome: 'rejected', sections: [], problems: ['decision.match'] },
  { id: ulid(), at, type: 'entry.granted', personId: 'pass', credential: 'pass', passId: '0123456789abcdef', score: null, liveness: null, latencyMs: 40 },
  { id: ulid(), at, type: 'entry.denied', reason: 'used-up', credential: 'pass', passId: '0123456789abcdef', personId: null, score: null, liveness: null, latencyMs: 40 },
  { id: ulid(), at, type: 'entry.denied', reason: 'keypad-locked', credential: 'pin', personId: null, score: null, liveness: null, latencyMs: 0 },
  { id: ulid(), at, type: 'alarm.duress', personId: 'p1', doorId: 'gate-1', credential: 'pin' },
  { id: ulid(), at, type: 'door.released', source: 'remote', personId: null, commandId: 'n0nce-0000000000001', requestedBy: 'guard-wang', durationMs: 5000 },
  { id: ulid(), at, type: 'unlock.refused', commandId: 'n0nce-0000000000002', requestedBy: 'guard-wang', reason: 'rate-limited' },
  { id: ulid(), at, type: 'alarm.relay-fault', state: 'active', intended: 'locked' },
  { id: ulid(), at, type: 'terminal.fault', code: 'roster-corrupt', state: 'raised' },
];

test('one sample of every event type parses unchanged', () => {
  for (const s of samples) expect(SyncEventSchema.parse(s)).toEqual(s);
});

test('every alarm, an alert sighting, a roster integrity failure, a wipe, a release, a refused unlock and a fault are security events; entries, camera health and config reloads are not', () => {
  const security = samples.filter((s) => isSecurityEvent(s.type)).map((s) => s.type);
  expect(security).toEqual([
    'alarm.forced-open', 'alarm.held-open', 'alarm.tamper', 'alarm.fire', 'roster.integrity', 'alert.sighting', 'terminal.wiped',
    'alarm.duress', 'door.released', 'unlock.refused', 'alarm.relay-fault', 'terminal.fault',
  ]);
  expect(SECURITY_EVENT_TYPES.size).toBe(12);
});

test('a remote unlock command names the operator who asked, and an unlock without one is refused', () => {
  expect(CommandSchema.safeParse({ type: 'unlock', durationMs: 5000, requestedBy: 'guard-wang' }).success).toBe(true);
  expect(CommandSchema.safeParse({ type: 'unlock', durationMs: 5000 }).success).toBe(false);
  expect(CommandSchema.safeParse({ type: 'unlock', durationMs: 5000, requestedBy: '../x' }).success).toBe(false);
});

test('a heartbeat carries the faults the terminal runs with; one from an older terminal has none', () => {
  const health = { uptimeS: 1, rosterVersion: 0, outboxDepth: 0, outboxDropped: 0, rejectedMessages: 0, cameraFps: null, lastDecisionLatencyMs: null, softwareVersion: 's', modelVersion: 'm' };
  expect(HealthSchema.parse(health).faults).toEqual([]);
  expect(HealthSchema.parse({ ...health, faults: ['relay-fault'] }).faults).toEqual(['relay-fault']);
  expect(HealthSchema.safeParse({ ...health, faults: ['no-such-fault'] }).success).toBe(false);
});

test('an entry stored by an older build (no credential, `method: face`) still parses, as a face', () => {
  const old = { id: ulid(), at, type: 'entry.granted', personId: 'p1', method: 'face', score: 0.9, liveness: 0.7, latencyMs: 300 };
  expect(SyncEventSchema.parse(old)).toMatchObject({ credential: 'face', method: 'face' });
  const oldDeny = { id: ulid(), at, type: 'entry.denied', reason: 'unknown', personId: null, score: 0.2, liveness: 0.7, latencyMs: 300 };
  expect(SyncEventSchema.parse(oldDeny)).toMatchObject({ credential: 'face' });
});

test('a pass id must be 16 hex digits', () => {
  expect(SyncEventSchema.safeParse({ ...samples[12], passId: 'Visitor of 302' }).success).toBe(false);
});

test('an event with an unknown field, a bad id or an unknown type is refused', () => {
  expect(SyncEventSchema.safeParse({ ...samples[2], extra: 1 }).success).toBe(false);
  expect(SyncEventSchema.safeParse({ ...samples[2], id: 'not-a-ulid' }).success).toBe(false);
  expect(SyncEventSchema.safeParse({ ...samples[2], type: 'alarm.other' }).success).toBe(false);
});

test('every terminal, door, person, tag and operator id in a payload follows the one identifier rule', () => {
  const sighting = samples.find((s) => s.type === 'alert.sighting');
  const granted = samples.find((s) => s.type === 'entry.granted');
  const released = samples.find((s) => s.type === 'door.released');
  const refused = samples.find((s) => s.type === 'unlock.refused');
  const command = { v: 1, kind: 'command', terminalId: 'gate-1', nonce: 'n'.repeat(16), issuedAt: at, expiresAt: at + 30_000, command: { type: 'wipe' } };
  const upsert = (id: string, door: string): unknown => ({ version: 2, upserts: [{ personId: id, templates: [], authorisations: [{ doorIds: [door], buildingIds: [] }] }] });
  fc.assert(
    fc.property(nastyId, (id) => {
      const ok = isId(id);
      expect(SyncEventSchema.safeParse({ ...sighting, doorId: id }).success).toBe(ok);
      expect(SyncEventSchema.safeParse({ ...sighting, tag: id }).success).toBe(ok);
      expect(SyncEventSchema.safeParse({ ...sighting, personId: id }).success).toBe(ok);
      expect(SyncEventSchema.safeParse({ ...granted, personId: id }).success).toBe(ok);
      expect(CommandBodySchema.safeParse({ ...command, terminalId: id }).success).toBe(ok);
      // the operator who asked for a remote unlock, as the hub's audit log names them (actorOf)
      expect(CommandBodySchema.safeParse({ ...command, command: { type: 'unlock', durationMs: 5000, requestedBy: id } }).success).toBe(ok);
      expect(SyncEventSchema.safeParse({ ...released, requestedBy: id }).success).toBe(ok);
      expect(SyncEventSchema.safeParse({ ...refused, requestedBy: id }).success).toBe(ok);
      expect(RosterBatchSchema.safeParse(upsert(id, 'gate-1')).success).toBe(ok);
      expect(RosterBatchSchema.safeParse(upsert('p-1', id)).success).toBe(ok);
      expect(parseTopic(`door/${id}/events`) !== null).toBe(ok);
    }),
    { numRuns: 1000 },
  );
});

test('a revocation may name a person id from before the identifier rule, so a terminal can still delete that person; nothing else may', () => {
  expect(RosterBatchSchema.safeParse({ version: 2, revocations: ['p:legacy@x', '..'] }).success).toBe(true);
  expect(RosterBatchSchema.safeParse({ version: 2, upserts: [{ personId: 'p:legacy@x', templates: [] }] }).success).toBe(false);
  for (const bad of ['a/b', 'a\u0000', 'a b', '+', '#', 'x'.repeat(129)]) expect(RosterBatchSchema.safeParse({ version: 2, revocations: [bad] }).success).toBe(false);
});
