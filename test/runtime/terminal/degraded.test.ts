/**
 * The lock does not depend on anything else: each of these used to end the process right after
 * `locked(started)` (exit 1; under systemd a crash loop with the exit button dead). With real files
 * (a corrupt SQLite file, a 0644 device secret, a missing key file, an unusable or unreachable broker
 * URL), the terminal now runs degraded: the door locked, the exit button and the fire release
 * working, /healthz naming the fault. In-process with fake GPIO (to press the buttons), and as a real
 * `doorway run` process.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FakeFrameSource } from '../../../drivers/camera';
import { FakeGpio } from '../../../drivers/gpio/fake';
import type { Config } from '../../../runtime/config';
import { startTerminal, type Terminal } from '../../../runtime/main';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { person, rng, unitVector } from '../roster/fixtures';
import { TestPki } from '../../harness/pki';
import { makeSiteDir, spawnDoorwayRun, terminalConfig, writeRoster, type SiteDir } from '../../harness/terminal-site';
import { waitFor } from '../../harness/wait';

type Cause = 'roster-corrupt' | 'secret-insecure' | 'hub-credentials' | 'hub-url' | 'event-store-replaced';

const NOT_SQLITE = Buffer.from('this is not an SQLite file, whatever its name says. '.repeat(100));

/** A site whose terminal meets `cause` at start, with a roster of one resident and a hub configured. */
function siteWith(cause: Cause | 'hub-unreachable'): { site: SiteDir; config: Config } {
  const site = makeSiteDir('doorway-degraded-');
  writeRoster(site, [person('p-ana', [unitVector(rng(1))])]);
  const config = terminalConfig(site);
  const pki = TestPki.create(join(site.dir, 'pki'));
  const creds = pki.client(config.terminalId);
  const hubKey = join(site.dir, 'hub.pub.pem');
  writeFileSync(hubKey, generateSigningKeyPair().publicKey.export({ type: 'spki', format: 'pem' }));
  config.hub = {
    url: 'mqtts://127.0.0.1:1', // nothing listens there: the hub cannot be reached
    caFile: pki.caPath,
    certFile: creds.certPath,
    keyFile: creds.keyPath,
    hubPublicKeyFile: hubKey,
    heartbeatMs: 30_000,
    reconnectMinMs: 500,
    reconnectMaxMs: 30_000,
    connectTimeoutMs: 10_000,
    keepaliveS: 30,
    stopFlushMs: 0,
  };
  switch (cause) {
    case 'roster-corrupt':
      writeFileSync(join(site.dataDir, 'roster.db'), NOT_SQLITE);
      rmSync(join(site.dataDir, 'roster.db-wal'), { force: true });
      break;
    case 'secret-insecure':
      chmodSync(site.secretFile, 0o644);
      break;
    case 'hub-credentials':
      rmSync(creds.keyPath);
      break;
    case 'hub-url':
      config.hub.url = 'mqtts://127.0.0.1:99999'; // a port no socket can have
      break;
    case 'event-store-replaced':
      writeFileSync(join(site.dataDir, 'sync.db'), NOT_SQLITE);
      break;
    case 'hub-unreachable':
      break;
  }
  return { site, config };
}

async function healthz(port: number): Promise<{ ok: boolean; mode: string; faults: string[]; problems: string[]; [k: string]: unknown }> {
  return (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean; mode: string; faults: string[]; problems: string[] };
}

function outbox(dataDir: string): { type: string; [k: string]: unknown }[] {
  const db = new Database(join(dataDir, 'sync.db'), { readonly: true });
  try {
    return (db.prepare('SELECT body FROM outbox ORDER BY seq').all() as { body: string }[]).map((r) => JSON.parse(r.body) as { type: string });
  } finally {
    db.close();
  }
}

const CAUSES: [Cause, string][] = [
  ['roster-corrupt', 'roster.db is not a database'],
  ['secret-insecure', 'the device secret is readable by others (0644)'],
  ['hub-credentials', "the terminal's key file is missing"],
  ['hub-url', 'the broker URL cannot be used'],
  ['event-store-replaced', 'sync.db is not a database'],
];

describe('a terminal that meets a broken part at start (in-process, fake GPIO)', () => {
  let t: Terminal | null = null;
  afterEach(async () => {
    await t?.stop();
    t = null;
  });

  it.each(CAUSES)('runs degraded with %s (%s): door locked, exit button and fire release working, /healthz says why', async (cause) => {
    const { site, config } = siteWith(cause);
    const clock = new SystemClock();
    const gpio = new FakeGpio(clock);
    t = await startTerminal({ config, gpio, clock, camera: new FakeFrameSource(clock), logger: silentLogger() });
    const released = (): boolean => gpio.out('lock').read(); // fail-secure strike: active = released
    expect(t.lock.getState().state).toBe('locked');
    expect(released()).toBe(false);
    const h = await healthz(t.healthPort);
    expect(h).toMatchObject({ ok: false, mode: 'degraded', lockOk: true });
    expect(h.faults).toContain(cause);
    expect(h.problems).toContain(cause);
    // Only the parts that depend on the broken one are off.
    const facesOff = cause === 'roster-corrupt' || cause === 'secret-insecure';
    expect(h['rosterLoaded']).toBe(!facesOff);
    expect(h['modelsLoaded']).toBe(!facesOff);
    expect(h.faults).toEqual([cause]);

    gpio.set('exit', 'pressed');
    await waitFor(() => t?.lock.getState().state === 'unlocked', 2000, 'the exit release');
    expect(released()).toBe(true);
    gpio.set('exit', false);
    await waitFor(() => t?.lock.getState().state === 'locked', 3000, 'the relock');
    gpio.set('fire', 'alarm');
    await waitFor(() => t?.lock.getState().state === 'fire-release', 2000, 'the fire release');
    expect(released()).toBe(true);
    await t.stop();
    t = null;

    // The fault is waiting for the hub, with the releases.
    const stored = outbox(site.dataDir);
    expect(stored.filter((e) => e.type === 'terminal.fault')).toEqual([expect.objectContaining({ code: cause, state: 'raised' })]);
    expect(stored.filter((e) => e.type === 'door.released').map((e) => e['source'])).toEqual(['exit-button', 'fire']);
  }, 60_000);

  it('keeps a corrupt sync file aside for forensics and starts a fresh one, refusing commands issued before it', async () => {
    const { site, config } = siteWith('event-store-replaced');
    const clock = new SystemClock();
    t = await startTerminal({ config, gpio: new FakeGpio(clock), clock, camera: new FakeFrameSource(clock), logger: silentLogger() });
    const aside = readdirSync(site.dataDir).filter((f) => /^sync\.db\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(f));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(site.dataDir, aside[0]!))).toEqual(NOT_SQLITE);
    await t.stop();
    t = null;
    const db = new Database(join(site.dataDir, 'sync.db'), { readonly: true });
    try {
      const after = (db.prepare("SELECT v FROM meta WHERE k = 'commands_issued_after'").get() as { v: number }).v;
      expect(after).toBeGreaterThan(Date.now());
    } finally {
      db.close();
    }
  }, 60_000);

  it('runs normally while the hub cannot be reached, and says so in /healthz without calling it a fault', async () => {
    const { config } = siteWith('hub-unreachable');
    const clock = new SystemClock();
    t = await startTerminal({ config, gpio: new FakeGpio(clock), clock, camera: new FakeFrameSource(clock), logger: silentLogger() });
    const h = await healthz(t.healthPort);
    expect(h).toMatchObject({ mode: 'normal', faults: [], hubConnected: false, modelsLoaded: true, rosterLoaded: true });
    expect(h.problems).toContain('hub-disconnected');
  }, 60_000);
});

describe('doorway run with a broken part', () => {
  it.each(CAUSES)('keeps running with %s (%s), reports it on /healthz and stops cleanly on SIGTERM', async (cause) => {
    const { site, config } = siteWith(cause);
    const run = spawnDoorwayRun(site, config);
    try {
      await run.running;
      const port = Number(/health on http:\/\/127\.0\.0\.1:(\d+)\/healthz/.exec(run.stderr())?.[1]);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(503);
      const h = (await res.json()) as { mode: string; faults: string[] };
      expect(h).toMatchObject({ mode: 'degraded', faults: [cause] });
      expect(run.stderr()).toMatch(/"event":"locked","reason":"started"/);
      expect(run.stderr()).not.toMatch(/unexpected error/);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toMatch(/"event":"locked","reason":"stopped"/);
    if (cause === 'event-store-replaced') expect(readdirSync(site.dataDir).some((f) => f.startsWith('sync.db.corrupt-'))).toBe(true);
    expect(existsSync(join(site.dataDir, 'sync.db'))).toBe(true);
  }, 60_000);
});
