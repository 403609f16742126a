/**
 * runtime/other-ways-in.ts as runtime/main.ts wires it: built from the terminal's config, on a real
 * encrypted roster and sync file, the fake GPIO playing a Wiegand reader, and real QR frames from a
 * frame provider. What it records is what goes to the hub: entries with their credential, the pass id
 * of a pass use, a silent duress alarm.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { FakeGpio } from '../../drivers/gpio/fake';
import { cardTrain, keysTrain } from '../../drivers/wiegand/fake-reader';
import { qrMatrix } from '../../provisioning/qr';
import { cardValue, credentialDigest, credentialKeyFromFile } from '../../runtime/access/digest';
import { parseConfig, type Config } from '../../runtime/config';
import { OtherWaysIn } from '../../runtime/other-ways-in';
import type { ScanFrame } from '../../runtime/pass/scanner';
import { encodePass } from '../../runtime/protocol/pass';
import type { SyncEvent } from '../../runtime/protocol/schemas';
import { RosterStore } from '../../runtime/roster/store';
import { openSyncDb } from '../../runtime/sync/db';
import { backdrop } from '../fixtures/backdrop';
import { rng } from '../fixtures/random';
import { gaussian, phoneFrame } from '../harness/phone';
import { makeSiteDir } from '../harness/terminal-site';
import { waitFor } from '../harness/wait';

const hub = generateKeyPairSync('ed25519');

function config(site: ReturnType<typeof makeSiteDir>, accept: string[]): Config {
  const pub = join(site.dir, 'hub.pub');
  writeFileSync(pub, hub.publicKey.export({ type: 'spki', format: 'pem' }));
  const cred = join(site.dir, 'credential.secret');
  writeFileSync(cred, randomBytes(32), { mode: 0o600 });
  for (const f of ['ca', 'crt', 'key']) writeFileSync(join(site.dir, f), 'unused here');
  return parseConfig({
    terminalId: 't1',
    door: { doorId: 'gate-1', buildingId: 'b-1', timeZone: 'Asia/Shanghai' },
    camera: { kind: 'file', input: { kind: 'video', path: 'unused.mp4' } },
    gpio: { driver: 'fake', outputs: { lock: { line: 17 } } },
    lock: { lockType: 'fail-secure' },
    hub: { url: 'mqtts://127.0.0.1:1', caFile: 'ca', certFile: 'crt', keyFile: 'key', hubPublicKeyFile: 'hub.pub' },
    access: { accept },
    wiegand: { d0: { line: 20 }, d1: { line: 21 } },
    paths: { dataDir: site.dataDir, secretFile: site.secretFile, credentialSecretFile: 'credential.secret' },
  }, 'test', site.dir);
}

async function door(accept: string[]) {
  const site = makeSiteDir('doorway-ways-in-');
  const cfg = config(site, accept);
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 3, 0, 0));
  const gpio = new FakeGpio(clock);
  const store = RosterStore.open({ path: join(site.dataDir, 'roster.db'), secretFile: site.secretFile, logger: silentLogger(), clock });
  const key = credentialKeyFromFile(cfg.paths.credentialSecretFile!);
  store.applyBatch({
    version: 1,
    upserts: [{
      personId: 'p-ann', templates: [], authorisations: [{ doorIds: ['gate-1'], buildingIds: [] }],
      credentials: { cards: [await credentialDigest('card', cardValue(12, 3456), key)], pin: await credentialDigest('pin', '4821', key), duressPin: await credentialDigest('pin', '4822', key) },
    }],
  });
  const syncDb = openSyncDb(join(site.dataDir, 'sync.db'), { synchronous: 'normal' });
  let latest: ScanFrame | null = null;
  const recorded: SyncEvent[] = [];
  const grants: string[] = [];
  const ways = new OtherWaysIn({
    config: () => cfg, clock, logger: silentLogger(), gpio, store, syncDb,
    frames: { latest: () => latest },
    persons: { facts: (id) => { const p = store.getPerson(id); return p && { personId: p.personId, status: p.status, authorisations: p.authorisations, tags: p.tags }; } },
    lock: { grant: (s) => (grants.push(s), 'unlocked') },
    record: (e) => recorded.push(e),
    notify: () => {},
  });
  await ways.start();
  const wall = backdrop(640, 480, 'plaster', rng(11));
  let seq = 0;
  const show = (text: string | null): void => {
    latest = { ...phoneFrame(wall, 640, 480, text ? qrMatrix(text) : null, { cx: 320, cy: 240, angle: 0.03, modulePx: 3 }, gaussian(rng(seq))), capturedAt: clock.now(), seq: ++seq };
    clock.advance(cfg.passes.intervalMs);
  };
  const play = async (train: Parameters<FakeGpio['play']>[0], expect: number): Promise<void> => {
    clock.advance(gpio.play(train) + 30);
    await waitFor(() => recorded.length >= expect, 10_000, 'the decision to be recorded', 5);
  };
  const cleanup = (): void => {
    ways.stop();
    store.close();
    syncDb.close();
  };
  return { cfg, clock, recorded, grants, show, play, cleanup };
}

const pass = (uses = 1): string => encodePass({ passId: 'c0ffee0000000001', notBefore: Date.UTC(2026, 0, 5), notAfter: Date.UTC(2026, 0, 6), uses, doors: ['gate-1'], buildings: [] }, hub.privateKey);

describe('OtherWaysIn wired from the terminal config', () => {
  it('records a pass use as an entry granted with its pass id, and the second showing as denied used-up', async () => {
    const d = await door(['face', 'pass']);
    try {
      d.show(pass());
      d.show(null);
      d.clock.advance(2000);
      d.show(pass());
      expect(d.recorded).toEqual([
        expect.objectContaining({ type: 'entry.granted', credential: 'pass', passId: 'c0ffee0000000001', personId: 'c0ffee0000000001' }),
        expect.objectContaining({ type: 'entry.denied', credential: 'pass', reason: 'used-up', passId: 'c0ffee0000000001', personId: null }),
      ]);
      expect(d.grants).toEqual(['qr']);
    } finally {
      d.cleanup();
    }
  });

  it('does not open for a pass when the door does not accept passes', async () => {
    const d = await door(['face', 'card']);
    try {
      d.show(pass());
      expect(d.recorded).toEqual([]);
      expect(d.grants).toEqual([]);
    } finally {
      d.cleanup();
    }
  });

  it('records a card entry with its credential, and a duress PIN as an entry plus a silent alarm.duress', async () => {
    const d = await door(['card', 'pin']);
    try {
      await d.play(cardTrain(26, 12, 3456, { names: { d0: 'wiegand.d0', d1: 'wiegand.d1' } }), 1);
      await d.play(keysTrain(8, '4822#'), 3);
      expect(d.recorded.map((e) => [e.type, 'credential' in e ? e.credential : null])).toEqual([
        ['entry.granted', 'card'],
        ['entry.granted', 'pin'],
        ['alarm.duress', 'pin'],
      ]);
      expect(d.recorded[2]).toMatchObject({ personId: 'p-ann', doorId: 'gate-1' });
      expect(d.grants).toEqual(['card', 'pin']);
    } finally {
      d.cleanup();
    }
  });
});
