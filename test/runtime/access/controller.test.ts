import { randomBytes } from 'node:crypto';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FakeGpio, type TrainPulse } from '../../../drivers/gpio/fake';
import { cardBits, WiegandReader, wiegandConfigSchema, type WiegandFrame, type WiegandKey } from '../../../drivers/wiegand';
import { bitTrain, cardTrain, keysTrain } from '../../../drivers/wiegand/fake-reader';
import { AccessConfigSchema, AccessController, type AccessConfig, type AccessEvent } from '../../../runtime/access/controller';
import { CredentialIndex } from '../../../runtime/access/credential-index';
import { cardValue, credentialDigest, credentialKeyFromSecret } from '../../../runtime/access/digest';
import type { PersonUpsert } from '../../../runtime/roster/batch';
import { RosterStore } from '../../../runtime/roster/store';
import { rng } from '../../fixtures/random';
import { tempRoster } from '../roster/fixtures';

const key = credentialKeyFromSecret(randomBytes(32));
const door = { doorId: 'gate-1', buildingId: 'b-1', timeZone: 'Asia/Shanghai' };

async function person(id: string, opts: { card?: [number, number]; pin?: string; duress?: string; doors?: string[] }): Promise<PersonUpsert> {
  const credentials: NonNullable<PersonUpsert['credentials']> = { cards: [] };
  if (opts.card) credentials.cards.push(await credentialDigest('card', cardValue(...opts.card), key));
  if (opts.pin) credentials.pin = await credentialDigest('pin', opts.pin, key);
  if (opts.duress) credentials.duressPin = await credentialDigest('pin', opts.duress, key);
  return { personId: id, templates: [], authorisations: [{ doorIds: opts.doors ?? ['gate-1'], buildingIds: [] }], tags: [], credentials };
}

let people: PersonUpsert[];
beforeAll(async () => {
  people = [
    await person('p-ann', { card: [12, 3456], pin: '4821', duress: '4822' }),
    await person('p-bob', { card: [12, 999], pin: '7777', doors: ['gate-9'] }),
  ];
});

function door1(accept: AccessConfig['accept'], rosterKnown?: () => boolean) {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 3, 0, 0));
  const gpio = new FakeGpio(clock);
  const roster = tempRoster();
  const store = RosterStore.open({ path: roster.path, secretFile: roster.secretFile, logger: silentLogger(), clock });
  store.applyBatch({ version: 1, upserts: people });
  const index = new CredentialIndex(store, silentLogger());
  index.start();
  const config = AccessConfigSchema.parse({ accept, keypad: { maxFailures: 3, lockMs: 60_000 } });
  const grants: string[] = [];
  const events: AccessEvent[] = [];
  const access = new AccessController({
    clock, logger: silentLogger(), key, index,
    persons: { facts: (id) => { const p = store.getPerson(id); return p && { personId: p.personId, status: p.status, authorisations: p.authorisations, tags: p.tags }; } },
    door: () => door, config: () => config,
    lock: { grant: (s) => (grants.push(s), 'unlocked') },
    emit: (e) => events.push(e),
    ...(rosterKnown ? { rosterKnown } : {}),
  });
  const reader = new WiegandReader(gpio, clock, wiegandConfigSchema.parse({ d0: { line: 5 }, d1: { line: 6 } }), silentLogger());
  reader.onFrame((f) => access.onFrame(f));
  reader.start();
  /** Plays a pulse train through the fake GPIO, lets the frame end, and waits for the decisions. */
  const play = async (train: TrainPulse[]): Promise<void> => {
    clock.advance(gpio.play(train) + 30);
    await access.idle();
  };
  const type = (keys: string) => play(keysTrain(8, keys, { intervalMs: 1.5, jitter: 0.2, random: rng(keys.length) }));
  const swipe = (f: number, n: number) => play(cardTrain(26, f, n, { intervalMs: 2, jitter: 0.3, random: rng(n) }));
  const last = () => events[events.length - 1];
  /** Frames straight to the controller at the clock's present time (for deadlines to the ms). */
  const frame = (f: WiegandFrame) => access.onFrame({ ...f, at: clock.now() });
  const keys = (ks: string) => [...ks].forEach((k) => frame({ kind: 'key', format: 8, key: k as WiegandKey }));
  const cleanup = () => { index.stop(); store.close(); roster.cleanup(); };
  return { clock, store, index, access, grants, events, play, type, swipe, last, frame, keys, cleanup };
}

describe('AccessController: cards and PINs through Wiegand pulse trains', () => {
  it('opens a card-only door for a known card, and refuses an unknown card and a garbled frame', async () => {
    const d = door1(['face', 'card']);
    try {
      await d.swipe(12, 3456);
      expect(d.last()).toMatchObject({ credential: 'card', outcome: 'grant', personId: 'p-ann', duress: false });
      await d.swipe(12, 3457);
      expect(d.last()).toMatchObject({ outcome: 'deny', reason: 'unknown', personId: null });
      const bits = cardBits(26, 12, 3456);
      bits[9] = 1 - (bits[9] ?? 0);
      await d.play(bitTrain(bits));
      expect(d.last()).toMatchObject({ outcome: 'deny', reason: 'garbled' });
      expect(d.grants).toEqual(['card']);
    } finally {
      d.cleanup();
    }
  });

  it('refuses a known card at a door its holder is not authorised for', async () => {
    const d = door1(['card']);
    try {
      await d.swipe(12, 999);
      expect(d.last()).toMatchObject({ outcome: 'deny', reason: 'not-authorised-here', personId: 'p-bob' });
    } finally {
      d.cleanup();
    }
  });

  it('refuses a card and a PIN at a face-only door as method-not-accepted', async () => {
    const d = door1(['face', 'pass']);
    try {
      await d.swipe(12, 3456);
      await d.type('4821#');
      expect(d.events.map((e) => e.reason)).toEqual(['method-not-accepted', 'method-not-accepted']);
      expect(d.grants).toEqual([]);
    } finally {
      d.cleanup();
    }
  });

  it('at a card+PIN door, opens for the card followed by its holder PIN, not for the card alone or another PIN', async () => {
    const d = door1(['card+pin']);
    try {
      await d.swipe(12, 3456);
      expect(d.events).toEqual([]);
      await d.type('4821#');
      expect(d.last()).toMatchObject({ credential: 'card+pin', outcome: 'grant', personId: 'p-ann' });
      await d.swipe(12, 3456);
      await d.type('7777#'); // bob's PIN, not ann's
      expect(d.last()).toMatchObject({ credential: 'card+pin', outcome: 'deny', reason: 'wrong-pin' });
      expect(d.grants).toEqual(['card']);
    } finally {
      d.cleanup();
    }
  });

  it('at a card+PIN door, takes the PIN finished 1 ms before pinAfterCardMs, and refuses it at the deadline as a PIN alone', async () => {
    const d = door1(['card+pin']);
    try {
      d.frame({ kind: 'card', format: 26, facility: 12, number: 3456 });
      d.clock.advance(15_000 - 1);
      d.keys('4821#');
      await d.access.idle();
      expect(d.last()).toMatchObject({ credential: 'card+pin', outcome: 'grant' });
      d.frame({ kind: 'card', format: 26, facility: 12, number: 3456 });
      d.clock.advance(15_000);
      d.keys('4821#');
      await d.access.idle();
      expect(d.last()).toMatchObject({ credential: 'pin', outcome: 'deny', reason: 'method-not-accepted' });
    } finally {
      d.cleanup();
    }
  });

  it('opens for a duress PIN like for the PIN, and marks the decision as duress (for the silent alarm)', async () => {
    const d = door1(['pin']);
    try {
      await d.type('4822#');
      expect(d.last()).toMatchObject({ credential: 'pin', outcome: 'grant', personId: 'p-ann', duress: true, lock: 'unlocked' });
      await d.type('4821#');
      expect(d.last()).toMatchObject({ outcome: 'grant', duress: false });
    } finally {
      d.cleanup();
    }
  });

  it('locks the keypad after 3 wrong PINs: even the right PIN is refused until lockMs has passed (1 ms before and after)', async () => {
    const d = door1(['pin']);
    try {
      for (const wrong of ['1111', '2222']) await d.type(`${wrong}#`);
      d.keys('3333#'); // the third wrong PIN, finished now: the lock runs from here
      await d.access.idle();
      expect(d.events.map((e) => e.reason)).toEqual(['unknown', 'unknown', 'unknown']);
      d.keys('4821#');
      await d.access.idle();
      expect(d.last()).toMatchObject({ outcome: 'deny', reason: 'keypad-locked' });
      d.clock.advance(60_000 - 1);
      d.keys('4821#');
      await d.access.idle();
      expect(d.last()).toMatchObject({ reason: 'keypad-locked' });
      d.clock.advance(1);
      d.keys('4821#');
      await d.access.idle();
      expect(d.last()).toMatchObject({ outcome: 'grant', personId: 'p-ann' });
    } finally {
      d.cleanup();
    }
  });

  it('refuses cards and PINs as no-roster while no roster is known, without counting them as wrong PINs, and judges them again once it is', async () => {
    let known = false;
    const d = door1(['card', 'pin', 'card+pin'], () => known);
    try {
      await d.swipe(12, 3456);
      expect(d.last()).toMatchObject({ credential: 'card', outcome: 'deny', reason: 'no-roster', personId: null });
      for (let i = 0; i < 4; i++) await d.type('4821#');
      expect(d.events.slice(1).map((e) => e.reason)).toEqual(['no-roster', 'no-roster', 'no-roster', 'no-roster']);
      expect(d.grants).toEqual([]);
      known = true;
      await d.type('4821#');
      expect(d.last()).toMatchObject({ credential: 'pin', outcome: 'grant', personId: 'p-ann' });
    } finally {
      d.cleanup();
    }
  });

  it('follows the roster: a revoked person card stops opening as soon as the revocation commits', async () => {
    const d = door1(['card']);
    try {
      await d.swipe(12, 3456);
      expect(d.last()?.outcome).toBe('grant');
      d.store.applyBatch({ version: 2, revocations: ['p-ann'] });
      await d.swipe(12, 3456);
      expect(d.last()).toMatchObject({ outcome: 'deny', reason: 'unknown' });
    } finally {
      d.cleanup();
    }
  });
});
