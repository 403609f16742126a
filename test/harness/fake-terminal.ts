/**
 * A whole Terminal on a fake clock without models: fake GPIO, fake camera, a fake face analyser that
 * "sees" the embedding a test puts in front of it, a fake MQTT transport, and real files for the rest
 * (encrypted roster, matcher, sync file). Any part can be made to fail the way the real one does.
 */
import Database from 'better-sqlite3';
import { randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { FakeFrameSource } from '../../drivers/camera';
import { openDoorLines } from '../../drivers/gpio';
import { FakeGpio } from '../../drivers/gpio/fake';
import { LockController } from '../../drivers/lock';
import { WiegandReader } from '../../drivers/wiegand';
import { credentialKeyFromFile } from '../../runtime/access/digest';
import { QrDecoder } from '../../runtime/pass/qr-decoder';
import type { FaceResult } from '../../models/pipeline';
import { updateStateDir, type Config } from '../../runtime/config';
import type { Command, CommandBody, SyncEvent } from '../../runtime/protocol/schemas';
import { generateSigningKeyPair } from '../../runtime/protocol/signing';
import { topicsFor } from '../../runtime/protocol/topics';
import type { PersonUpsert } from '../../runtime/roster/batch';
import { LocalAdaptation } from '../../runtime/roster/local-adaptation';
import { Matcher } from '../../runtime/roster/matcher';
import { RosterStore } from '../../runtime/roster/store';
import { FakeTransport } from '../../runtime/sync/fake-transport';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../runtime/sync/roster-store-sink';
import { SystemdNotifier } from '../../runtime/systemd';
import { openEventStore } from '../../runtime/terminal/event-store';
import type { TerminalParts } from '../../runtime/terminal/parts';
import { Terminal, type TerminalNotice } from '../../runtime/terminal/terminal';
import { UpdateLink } from '../../runtime/update/terminal-link';
import { MODEL } from '../runtime/roster/fixtures';
import { signedCommand } from './sync-site';
import { makeSiteDir, terminalConfig, writeRoster, type SiteDir } from './terminal-site';

/** One face, as the pipeline would return it, carrying `embedding`. */
export function seenFace(embedding: Float32Array): FaceResult {
  return {
    box: [200, 120, 320, 280],
    score: 0.99,
    landmarks68: new Float32Array(136),
    landmarks5: [],
    quality: { ok: true, reasons: [], interEyePx: 60, facePx: 200, sharpness: 300, brightness: 120, clippedFraction: 0, pose: null, eyes: null },
    liveness: null,
    embedding,
    model: MODEL,
  };
}

export interface FakeTerminalOptions {
  roster?: PersonUpsert[];
  /** Changes to the config before the terminal is built. */
  config?: (c: Config) => void;
  /** Replaces parts (a failing opener, ...). */
  parts?: Partial<TerminalParts>;
  /** With a hub link over a fake transport (default true). */
  hub?: boolean;
  /** The community's credential secret (32 bytes; default random): tests digest cards and PINs with it. */
  credentialSecret?: Buffer;
}

export interface FakeTerminal {
  t: Terminal;
  clock: FakeClock;
  gpio: FakeGpio;
  camera: FakeFrameSource;
  transport: FakeTransport;
  site: SiteDir;
  config: Config;
  notices: TerminalNotice[];
  exits: number[];
  /** The hub's signing key (commands, passes). */
  hubKey: KeyObject;
  /** The community's credential key, as the terminal holds it (cards and PINs are digested with it). */
  credentialKey: Buffer;
  /** What the fake analyser sees in the next frames (null: nobody). */
  facing: { embedding: Float32Array | null };
  /** Advances the clock in steps, letting promises run between them. */
  run(ms: number, step?: number): Promise<void>;
  /** A visitor in front of the camera for `frames` frames, then gone long enough to end the track. */
  passage(embedding: Float32Array, frames?: number): Promise<void>;
  /** A command signed by the hub's key, as the broker would deliver it. */
  command(command: Command, over?: Partial<CommandBody>): { payload: string; body: CommandBody };
  /** Events committed to the sync file so far (published or not). */
  stored(): SyncEvent[];
  /** Events published to the hub so far (door/<id>/events), each once, in order. */
  published(): SyncEvent[];
  healthz(): Promise<Record<string, unknown> & { faults: string[]; problems: string[] }>;
  stop(): Promise<void>;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function startFakeTerminal(opts: FakeTerminalOptions = {}): Promise<FakeTerminal> {
  const site = makeSiteDir('doorway-fake-terminal-');
  if (opts.roster) writeRoster(site, opts.roster);
  const config = terminalConfig(site);
  config.gpio.outputs.buzzer = { line: 27, activeLow: false };
  config.gpio.outputs.led = { line: 22, activeLow: false };
  if (opts.hub ?? true) {
    config.hub = { url: 'mqtts://127.0.0.1:8883', caFile: '/nonexistent', certFile: '/nonexistent', keyFile: '/nonexistent', hubPublicKeyFile: '/nonexistent', heartbeatMs: 10_000, reconnectMinMs: 500, reconnectMaxMs: 30_000, connectTimeoutMs: 10_000, keepaliveS: 30, stopFlushMs: 0 };
  }
  opts.config?.(config);
  const clock = new FakeClock(Date.UTC(2026, 5, 1, 4, 0, 0)); // 12:00 in Shanghai
  const log = silentLogger();
  const gpio = new FakeGpio(clock);
  const lines = openDoorLines(gpio, config.gpio, LockController.relayActiveWhen(config.lock.lockType, true));
  const lock = new LockController({ relay: lines.relay, inputs: lines.inputs, clock, config: config.lock, logger: log });
  const camera = new FakeFrameSource(clock);
  const transport = new FakeTransport();
  const keys = generateSigningKeyPair();
  const facing: { embedding: Float32Array | null } = { embedding: null };
  const credentialSecretFile = join(site.dir, 'credential.secret');
  writeFileSync(credentialSecretFile, opts.credentialSecret ?? randomBytes(32), { mode: 0o600 });
  const credentialKey = credentialKeyFromFile(credentialSecretFile);
  let store: RosterStore | null = null;
  let matcher: Matcher | null = null;
  const parts: TerminalParts = {
    openEventStore: () => openEventStore(join(site.dataDir, 'sync.db'), { clock, log, skewMs: 60_000, synchronous: 'normal' }),
    openRoster: () => (store = RosterStore.open({ path: join(site.dataDir, 'roster.db'), secretFile: site.secretFile, logger: log, clock })),
    loadFaces: () =>
      Promise.resolve({
        modelId: MODEL,
        process: () => Promise.resolve(facing.embedding ? [seenFace(facing.embedding)] : []),
        close: () => Promise.resolve(),
      }),
    matcherFor: (_r, modelId) => (matcher = Matcher.fromStore(store as RosterStore, { modelId, logger: log })),
    adaptationFor: () => new LocalAdaptation(store as RosterStore, matcher as Matcher, log, config.adaptation),
    hubLink: () => ({ transport, hubPublicKey: keys.publicKey, rosterSink: store ? new RosterStoreSink(store) : null, ...ROSTER_STORE_SCHEMAS }),
    livenessFor: () => ({ observe: () => ({ verdict: 'live', score: 0.9, reasons: [] }) }),
    updateLink: () => new UpdateLink(updateStateDir(config), config.update.root),
    passReader: async () => (config.hub ? { decoder: await QrDecoder.load(), hubPublicKey: keys.publicKey } : null),
    credentialKey: () => credentialKey,
    openWiegand: () => {
      if (!config.wiegand) return null;
      const reader = new WiegandReader(gpio, clock, config.wiegand, log);
      reader.start();
      return reader;
    },
    ...opts.parts,
  };
  const notices: TerminalNotice[] = [];
  const exits: number[] = [];
  const t = new Terminal({
    config,
    clock,
    log,
    lock,
    ...(lines.buzzer ? { buzzer: lines.buzzer } : {}),
    ...(lines.led ? { led: lines.led } : {}),
    camera,
    parts,
    systemd: new SystemdNotifier({}, clock, log),
    softwareVersion: 'test',
    onNotice: (n) => notices.push(n),
    exit: (c) => exits.push(c),
  });
  await t.start();
  const topics = topicsFor(config.terminalId);
  const run = async (ms: number, step = 10): Promise<void> => {
    for (let done = 0; done < ms; done += step) {
      clock.advance(Math.min(step, ms - done));
      await flush();
    }
  };
  return {
    t,
    clock,
    gpio,
    camera,
    transport,
    site,
    config,
    notices,
    exits,
    hubKey: keys.privateKey,
    credentialKey,
    facing,
    run,
    async passage(embedding, frames = 5) {
      facing.embedding = embedding;
      for (let i = 0; i < frames; i++) {
        camera.push();
        await run(40);
      }
      facing.embedding = null;
      camera.push();
      await run(config.evidence.trackGapMs + 100, 20);
    },
    command(command, over = {}) {
      const payload = signedCommand(command, clock, keys.privateKey, { terminalId: config.terminalId, ...over });
      return { payload, body: JSON.parse((JSON.parse(payload) as { body: string }).body) as CommandBody };
    },
    stored() {
      const db = new Database(join(site.dataDir, 'sync.db'), { readonly: true });
      try {
        return (db.prepare('SELECT body FROM outbox ORDER BY seq').all() as { body: string }[]).map((r) => JSON.parse(r.body) as SyncEvent);
      } finally {
        db.close();
      }
    },
    published() {
      // Unacknowledged batches are sent again (no hub here acknowledges them): each event once.
      const seen = new Map<string, SyncEvent>();
      for (const m of transport.on(topics.events) as { events: SyncEvent[] }[]) for (const e of m.events) seen.set(e.id, e);
      return [...seen.values()];
    },
    async healthz() {
      return (await (await fetch(`http://127.0.0.1:${t.healthPort}/healthz`)).json()) as Record<string, unknown> & { faults: string[]; problems: string[] };
    },
    stop: () => t.stop(),
  };
}
