/**
 * Passes, cards and PINs in a whole Terminal (runtime/terminal/other-ways-in.ts) on the fake clock: a
 * real encrypted roster and sync file, real QR frames of a phone pushed through the fake camera, the
 * fake GPIO playing a Wiegand reader's pulse trains. What the door does (relay, buzzer) and what it
 * records for the hub (entries with their credential, releases, a silent duress alarm, faults) are
 * what the terminal does with a face; and a terminal that cannot judge them (no roster, no reader)
 * keeps its exit button.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../core/log';
import { wiegandConfigSchema } from '../../../drivers/wiegand';
import { cardTrain, keysTrain } from '../../../drivers/wiegand/fake-reader';
import { GpioError } from '../../../drivers/gpio';
import { qrMatrix } from '../../../provisioning/qr';
import { cardValue, credentialDigest, credentialKeyFromSecret } from '../../../runtime/access/digest';
import { encodePass } from '../../../runtime/protocol/pass';
import type { SyncEvent } from '../../../runtime/protocol/schemas';
import type { PersonUpsert } from '../../../runtime/roster/batch';
import { RosterStore } from '../../../runtime/roster/store';
import { backdrop } from '../../fixtures/backdrop';
import { person, rng, unitVector } from '../roster/fixtures';
import { startFakeTerminal, type FakeTerminal, type FakeTerminalOptions } from '../../harness/fake-terminal';
import { gaussian, phoneFrame } from '../../harness/phone';

const secret = randomBytes(32);
const key = credentialKeyFromSecret(secret);
const wall = backdrop(640, 480, 'plaster', rng(11));
const annFace = unitVector(rng(14));

async function ann(): Promise<PersonUpsert> {
  return {
    ...person('p-ann', [annFace]),
    credentials: { cards: [await credentialDigest('card', cardValue(12, 3456), key)], pin: await credentialDigest('pin', '4821', key), duressPin: await credentialDigest('pin', '4822', key) },
  };
}

async function door(accept: string[], opts: FakeTerminalOptions = {}): Promise<FakeTerminal> {
  return startFakeTerminal({
    roster: [await ann()],
    credentialSecret: secret,
    ...opts,
    config: (c) => {
      c.access.accept = accept as typeof c.access.accept;
      c.wiegand = wiegandConfigSchema.parse({ d0: { line: 20 }, d1: { line: 21 } });
      opts.config?.(c);
    },
  });
}

let seed = 0;
/** The phone held up to the camera for one scan (`text` null: the phone has gone). */
async function show(f: FakeTerminal, text: string | null): Promise<void> {
  const frame = phoneFrame(wall, 640, 480, text ? qrMatrix(text) : null, { cx: 320, cy: 240, angle: 0.03, modulePx: 3 }, gaussian(rng(++seed)));
  f.camera.push({ width: frame.width, height: frame.height, data: Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength) });
  await f.run(f.config.passes.intervalMs);
}

async function play(f: FakeTerminal, train: Parameters<FakeTerminal['gpio']['play']>[0]): Promise<void> {
  await f.run(f.gpio.play(train) + 40);
  await f.t.otherWaysIdle();
  await f.run(20);
}

const entries = (f: FakeTerminal): SyncEvent[] => f.stored().filter((e) => e.type === 'entry.granted' || e.type === 'entry.denied' || e.type === 'alarm.duress' || e.type === 'door.released');
const relayWrites = (f: FakeTerminal): boolean[] => f.gpio.out('lock').writes.map((w) => w.active);

describe('passes, cards and PINs in a running terminal', () => {
  it('opens the door for a pass through the lock controller and records the use; the same single-use pass shown again is denied as used-up, with a deny tone', async () => {
    const f = await door(['face', 'pass']);
    try {
      const pass = encodePass({ passId: 'c0ffee0000000001', notBefore: f.clock.now() - 60_000, notAfter: f.clock.now() + 3_600_000, uses: 1, doors: ['door-1'], buildings: [] }, f.hubKey);
      await show(f, pass);
      expect(f.t.lock.getState().state).toBe('unlocked');
      await show(f, null);
      await f.run(f.config.lock.unlockPulseMs + f.config.passes.presentationGapMs);
      expect(f.t.lock.getState().state).toBe('locked');
      const buzzerBefore = f.gpio.out('buzzer').writes.length;
      await show(f, pass);
      expect(f.t.lock.getState().state).toBe('locked');
      expect(entries(f)).toEqual([
        expect.objectContaining({ type: 'entry.granted', credential: 'pass', passId: 'c0ffee0000000001', personId: 'c0ffee0000000001' }),
        expect.objectContaining({ type: 'door.released', source: 'qr', personId: 'c0ffee0000000001', durationMs: f.config.lock.unlockPulseMs }),
        expect.objectContaining({ type: 'entry.denied', credential: 'pass', reason: 'used-up', passId: 'c0ffee0000000001', personId: null }),
      ]);
      expect(f.gpio.out('buzzer').writes.length).toBeGreaterThan(buzzerBefore);
      expect(f.notices.filter((n) => n.kind === 'pass').map((n) => (n.kind === 'pass' ? n.event.outcome : null))).toEqual(['grant', 'deny']);
    } finally {
      await f.stop();
    }
  });

  it('refuses a screenshot of a pass replayed after its validity, as expired', async () => {
    const f = await door(['face', 'pass']);
    try {
      const any = encodePass({ passId: 'c0ffee0000000005', notBefore: f.clock.now() - 1000, notAfter: f.clock.now() + 60_000, uses: 0, doors: ['door-1'], buildings: [] }, f.hubKey);
      await show(f, any);
      await show(f, null);
      f.clock.advance(61_000);
      await show(f, any);
      expect(entries(f).filter((e) => e.type !== 'door.released').map((e) => [e.type, 'reason' in e ? e.reason : null])).toEqual([
        ['entry.granted', null],
        ['entry.denied', 'expired'],
      ]);
    } finally {
      await f.stop();
    }
  });

  it('refuses a pass the hub revoked (the revocation came with the roster) as revoked, and opens for another', async () => {
    const revoked = 'c0ffee0000000006';
    const f = await door(['face', 'pass'], {
      config: (c) => {
        const store = RosterStore.open({ path: join(c.paths.dataDir, 'roster.db'), secretFile: c.paths.secretFile, logger: silentLogger() });
        store.applyBatch({ version: store.version() + 1, upserts: [], revocations: [], passRevocations: [{ passId: revoked, notAfter: Date.UTC(2030, 0, 1) }] });
        store.close();
      },
    });
    try {
      const pass = (id: string): string => encodePass({ passId: id, notBefore: f.clock.now() - 1000, notAfter: f.clock.now() + 60_000, uses: 1, doors: ['door-1'], buildings: [] }, f.hubKey);
      await show(f, pass(revoked));
      await show(f, pass('c0ffee0000000007'));
      expect(entries(f).filter((e) => e.type !== 'door.released').map((e) => [e.type, 'reason' in e ? e.reason : null, 'passId' in e ? e.passId : null])).toEqual([
        ['entry.denied', 'revoked', revoked],
        ['entry.granted', null, 'c0ffee0000000007'],
      ]);
    } finally {
      await f.stop();
    }
  });

  it('does not read passes at a door whose policy does not accept them', async () => {
    const f = await door(['face', 'card']);
    try {
      await show(f, encodePass({ passId: 'c0ffee0000000002', notBefore: f.clock.now() - 1, notAfter: f.clock.now() + 60_000, uses: 1, doors: ['door-1'], buildings: [] }, f.hubKey));
      expect(entries(f)).toEqual([]);
      expect(f.t.lock.getState().state).toBe('locked');
    } finally {
      await f.stop();
    }
  });

  it('opens for a card and for a duress PIN alike, and records the duress PIN as an entry plus a silent alarm.duress for the hub', async () => {
    const f = await door(['card', 'pin']);
    try {
      const beeps = (from: number): [number, boolean][] => f.gpio.out('buzzer').writes.filter((w) => w.at >= from).map((w) => [w.at - from, w.active]);
      const cardAt = f.clock.monotonic();
      await play(f, cardTrain(26, 12, 3456, { jitter: 0.2, random: rng(3) }));
      expect(f.t.lock.getState().state).toBe('unlocked');
      await f.run(f.config.lock.unlockPulseMs + 100);
      const cardBeep = beeps(cardAt);
      const pinAt = f.clock.monotonic();
      await play(f, keysTrain(8, '4822#'));
      expect(f.t.lock.getState().state).toBe('unlocked');
      await f.run(f.config.feedback.grantBeepMs + 50);
      const pinBeep = beeps(pinAt);
      // The one grant beep of a face, for the card and for the duress PIN alike.
      for (const b of [cardBeep, pinBeep]) {
        expect(b.map(([, on]) => on)).toEqual([true, false]);
        expect(b[1]![0] - b[0]![0]).toBeCloseTo(f.config.feedback.grantBeepMs, 6);
      }
      expect(entries(f).map((e) => [e.type, 'credential' in e ? e.credential : 'source' in e ? e.source : null])).toEqual([
        ['entry.granted', 'card'],
        ['door.released', 'card'],
        ['entry.granted', 'pin'],
        ['door.released', 'pin'],
        ['alarm.duress', 'pin'],
      ]);
      expect(entries(f)[4]).toMatchObject({ personId: 'p-ann', doorId: 'door-1' });
      expect(f.notices.filter((n) => n.kind === 'access').length).toBe(2);
    } finally {
      await f.stop();
    }
  });

  it('keeps a face out at a card-only door: recognised, recorded as method-not-accepted, relay never energised', async () => {
    const f = await door(['card']);
    try {
      expect(f.t.config.access.accept).toEqual(['card']);
      const writes = relayWrites(f).length;
      const buzzer = f.gpio.out('buzzer').writes.length;
      await f.passage(annFace);
      expect(entries(f)).toEqual([expect.objectContaining({ type: 'entry.denied', credential: 'face', reason: 'method-not-accepted', personId: 'p-ann' })]);
      expect(relayWrites(f).length).toBe(writes);
      expect(f.gpio.out('buzzer').writes.length).toBeGreaterThan(buzzer);
      // ... and her card opens it.
      await play(f, cardTrain(26, 12, 3456));
      expect(f.t.lock.getState().state).toBe('unlocked');
    } finally {
      await f.stop();
    }
  });

  it('runs on when the card reader cannot be opened: cards and PINs shut, card-reader-unavailable in /healthz and as an event, the exit button and passes still working', async () => {
    const f = await door(['card', 'pin', 'pass'], {
      parts: {
        openWiegand: () => {
          throw new GpioError('gpio-line-busy', 20, 'line 20 is busy');
        },
      },
    });
    try {
      const health = await f.healthz();
      expect(health.faults).toEqual(['card-reader-unavailable']);
      expect(health['mode']).toBe('degraded');
      expect(f.stored()).toContainEqual(expect.objectContaining({ type: 'terminal.fault', code: 'card-reader-unavailable', state: 'raised' }));
      f.gpio.set('exit', 'pressed');
      await f.run(200);
      expect(f.t.lock.getState().state).toBe('unlocked');
      f.gpio.set('exit', false);
      await f.run(f.config.lock.unlockPulseMs + 100);
      await show(f, encodePass({ passId: 'c0ffee0000000003', notBefore: f.clock.now() - 1, notAfter: f.clock.now() + 60_000, uses: 2, doors: ['door-1'], buildings: [] }, f.hubKey));
      expect(f.stored()).toContainEqual(expect.objectContaining({ type: 'entry.granted', credential: 'pass' }));
    } finally {
      await f.stop();
    }
  });

  it('refuses every card, PIN and pass as no-roster while the roster cannot be opened, with a deny tone and a record each, and the exit button still releases the door', async () => {
    const f = await door(['card', 'pin', 'pass'], {
      config: (c) => {
        writeFileSync(join(c.paths.dataDir, 'roster.db'), Buffer.from('this is not an SQLite database at all, not even close'));
      },
    });
    try {
      expect((await f.healthz()).faults).toEqual(['roster-corrupt']);
      const buzzerBefore = f.gpio.out('buzzer').writes.length;
      await play(f, cardTrain(26, 12, 3456));
      const afterCard = f.gpio.out('buzzer').writes.length;
      expect(afterCard).toBeGreaterThan(buzzerBefore);
      await play(f, keysTrain(8, '4821#'));
      await show(f, encodePass({ passId: 'c0ffee0000000004', notBefore: f.clock.now() - 1, notAfter: f.clock.now() + 60_000, uses: 1, doors: ['door-1'], buildings: [] }, f.hubKey));
      expect(f.gpio.out('buzzer').writes.length).toBeGreaterThan(afterCard);
      expect(entries(f).map((e) => ({ type: e.type, reason: (e as { reason?: string }).reason, credential: (e as { credential?: string }).credential, personId: (e as { personId?: string | null }).personId }))).toEqual([
        { type: 'entry.denied', reason: 'no-roster', credential: 'card', personId: null },
        { type: 'entry.denied', reason: 'no-roster', credential: 'pin', personId: null },
        { type: 'entry.denied', reason: 'no-roster', credential: 'pass', personId: null },
      ]);
      expect(relayWrites(f).some((on) => on)).toBe(false);
      expect(f.t.lock.getState().state).toBe('locked');
      f.gpio.set('exit', 'pressed');
      await f.run(200);
      expect(f.t.lock.getState().state).toBe('unlocked');
      expect(f.stored()).toContainEqual(expect.objectContaining({ type: 'door.released', source: 'exit-button' }));
    } finally {
      await f.stop();
    }
  });
});
