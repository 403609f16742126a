import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import type { RawFrame } from '../../../models/image';
import { qrMatrix } from '../../../provisioning/qr';
import { PassLedger } from '../../../runtime/pass/ledger';
import { QrDecoder } from '../../../runtime/pass/qr-decoder';
import { PassScanner, type PassEvent, type ScanFrame } from '../../../runtime/pass/scanner';
import { encodePass, type PassFields } from '../../../runtime/protocol/pass';
import { RosterStore } from '../../../runtime/roster/store';
import { backdrop } from '../../fixtures/backdrop';
import { rng } from '../../fixtures/random';
import { gaussian, phoneFrame } from '../../harness/phone';
import { tempRoster } from '../roster/fixtures';

const hub = generateKeyPairSync('ed25519');
const forger = generateKeyPairSync('ed25519');
const wall = backdrop(640, 480, 'plaster', rng(11));
let decoder: QrDecoder;

beforeAll(async () => {
  decoder = await QrDecoder.load();
});

/** A real camera-like frame of a phone showing `text` as a QR code (null: the wall alone). */
function frameShowing(text: string | null, seed = 1): RawFrame {
  return phoneFrame(wall, 640, 480, text === null ? null : qrMatrix(text), { cx: 320, cy: 240, angle: 0.04, modulePx: 3 }, gaussian(rng(seed)));
}

function site(opts: { door?: string; building?: string; synced?: boolean } = {}) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const db = new Database(':memory:');
  const ledger = new PassLedger(db);
  const roster = tempRoster();
  const store = RosterStore.open({ path: roster.path, secretFile: roster.secretFile, logger: silentLogger(), clock });
  if (opts.synced !== false) store.applyBatch({ version: 1 });
  let latest: ScanFrame | null = null;
  let seq = 0;
  const grants: string[] = [];
  const events: PassEvent[] = [];
  const scanner = new PassScanner({
    clock,
    logger: silentLogger(),
    frames: { latest: () => latest },
    decoder,
    hubPublicKey: hub.publicKey,
    door: () => ({ doorId: opts.door ?? 'gate-1', buildingId: opts.building ?? 'b-1' }),
    revocations: store,
    ledger,
    lock: { grant: (s) => (grants.push(s), 'unlocked') },
    emit: (e) => events.push(e),
    config: { enabled: true, intervalMs: 120, presentationGapMs: 1500 },
  });
  const show = (f: RawFrame): PassEvent | null => {
    latest = { ...f, capturedAt: clock.now(), seq: ++seq };
    return scanner.step();
  };
  const cleanup = (): void => {
    store.close();
    roster.cleanup();
  };
  return { clock, ledger, store, scanner, show, grants, events, cleanup };
}

const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const pass = (over: Partial<PassFields> = {}, key = hub.privateKey): string =>
  encodePass({ passId: 'a1b2c3d4e5f60718', notBefore: now - 60_000, notAfter: now + 2 * 3600_000, uses: 1, doors: ['gate-1'], buildings: [], ...over }, key);

describe('PassScanner on real QR frames', () => {
  it('opens the door once for a valid single-use pass and refuses it as used-up when shown again', () => {
    const s = site();
    try {
      const text = pass();
      expect(s.show(frameShowing(text))).toMatchObject({ outcome: 'grant', passId: 'a1b2c3d4e5f60718', uses: 1, lock: 'unlocked' });
      // still in view on the next frames: the same attempt, no second decision
      s.clock.advance(120);
      expect(s.show(frameShowing(text, 2))).toBeNull();
      // taken away, shown again after the presentation gap: a new attempt
      s.clock.advance(1500);
      expect(s.show(frameShowing(null))).toBeNull();
      expect(s.show(frameShowing(text, 3))).toMatchObject({ outcome: 'deny', reason: 'used-up', passId: 'a1b2c3d4e5f60718' });
      expect(s.grants).toEqual(['qr']);
      expect(s.ledger.uses('a1b2c3d4e5f60718')).toBe(1);
    } finally {
      s.cleanup();
    }
  });

  it('treats a pass seen again 1 ms before the presentation gap as the same attempt, and 1 ms after it as a new one', () => {
    const s = site();
    try {
      const text = pass({ uses: 3 });
      expect(s.show(frameShowing(text))?.outcome).toBe('grant');
      s.clock.advance(1499);
      expect(s.show(frameShowing(text, 2))).toBeNull();
      s.clock.advance(1501);
      expect(s.show(frameShowing(text, 3))).toMatchObject({ outcome: 'grant', uses: 2 });
    } finally {
      s.cleanup();
    }
  });

  it('refuses a pass signed by another key as bad-signature', () => {
    const s = site();
    try {
      expect(s.show(frameShowing(pass({}, forger.privateKey)))).toMatchObject({ outcome: 'deny', reason: 'bad-signature' });
      expect(s.grants).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  it('refuses a pass for another door as wrong-door, and admits a pass for this building', () => {
    const s = site({ door: 'gate-2', building: 'b-1' });
    try {
      expect(s.show(frameShowing(pass()))).toMatchObject({ outcome: 'deny', reason: 'wrong-door' });
      s.clock.advance(2000);
      expect(s.show(frameShowing(pass({ passId: 'b1b2c3d4e5f60718', doors: [], buildings: ['b-1'] }), 4))).toMatchObject({ outcome: 'grant' });
    } finally {
      s.cleanup();
    }
  });

  it('refuses a pass revoked through the roster, and any pass while the terminal has no roster', () => {
    const s = site();
    try {
      s.store.applyBatch({ version: 2, passRevocations: [{ passId: 'a1b2c3d4e5f60718', notAfter: now + 2 * 3600_000 }] });
      expect(s.show(frameShowing(pass()))).toMatchObject({ outcome: 'deny', reason: 'revoked' });
    } finally {
      s.cleanup();
    }
    const t = site({ synced: false });
    try {
      expect(t.show(frameShowing(pass()))).toMatchObject({ outcome: 'deny', reason: 'no-roster' });
      t.store.replaceAll({ version: 5, persons: [] });
      t.clock.advance(2000);
      expect(t.show(frameShowing(pass(), 9))).toMatchObject({ outcome: 'grant' });
    } finally {
      t.cleanup();
    }
  });

  it('refuses a QR code that claims to be a pass but does not decode as garbled, and ignores QR codes that are not passes', () => {
    const s = site();
    try {
      expect(s.show(frameShowing('DP1:THIS IS NOT BASE45 AT ALL'))).toMatchObject({ outcome: 'deny', reason: 'garbled', passId: null });
      s.clock.advance(2000);
      expect(s.show(frameShowing('HTTPS://EXAMPLE.ORG/PARCEL/12345', 5))).toBeNull();
      expect(s.scanner.foreign).toBe(1);
      expect(s.grants).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  it('fails closed when the use cannot be recorded: the door stays locked and the denial says error', () => {
    const s = site();
    try {
      s.ledger.consume = () => {
        throw new Error('disk full');
      };
      expect(s.show(frameShowing(pass()))).toMatchObject({ outcome: 'deny', reason: 'error' });
      expect(s.grants).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  it('scans on its own timer, only frames it has not seen', () => {
    const s = site();
    try {
      s.scanner.start();
      s.show(frameShowing(null));
      const before = s.scanner.scanned;
      s.clock.advance(119);
      expect(s.scanner.scanned).toBe(before);
      s.clock.advance(1);
      expect(s.scanner.scanned).toBe(before); // the frame was already scanned by show()
      s.scanner.stop();
    } finally {
      s.cleanup();
    }
  });
});
