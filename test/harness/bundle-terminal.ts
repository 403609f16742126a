/**
 * A terminal as installed from its bundle (`provision terminal add`): the bundle's config, with the
 * franck video as its file camera behind a gate, fake GPIO, real models, real encrypted roster, real
 * MQTT to the community's broker. The gate makes "someone walks up to the door" and "walks away"
 * explicit, so one passage is one decision.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileSource, type FrameSource, type FrameSourceEvents } from '../../drivers/camera';
import { FakeGpio } from '../../drivers/gpio/fake';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import type { TerminalBundle } from '../../provisioning';
import { ConfigSchema, parseConfig, type Config } from '../../runtime/config';
import type { LoopEvent } from '../../runtime/loop/door-loop';
import { startTerminal, type Terminal, type TerminalNotice } from '../../runtime/main';
import { FRANCK_VIDEO, testFile } from '../fixtures/photos';
import { sleep, waitFor } from './wait';

export type Decision = Extract<LoopEvent, { type: 'decision' }>;

/** The video's frames reach the door loop only while someone "stands at the door". */
export class GatedSource implements FrameSource {
  open = false;
  constructor(private readonly inner: FrameSource) {}
  start(): void {
    this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  latest(): ReturnType<FrameSource['latest']> {
    return this.open ? this.inner.latest() : null;
  }
  hold(): ReturnType<FrameSource['hold']> {
    return this.open ? this.inner.hold() : null;
  }
  on<K extends keyof FrameSourceEvents>(event: K, listener: FrameSourceEvents[K]): () => void {
    return this.inner.on(event, listener);
  }
}

export interface BundleTerminal {
  config: Config;
  terminal: Terminal;
  gpio: FakeGpio;
  camera: GatedSource;
  decisions: Decision[];
  /** Status messages ('hub connected', 'roster applied: version N', ...). */
  notices: string[];
  /** When each remote unlock released the lock. */
  remoteUnlocks: number[];
  /** Franck walks up (the gate opens) until the next decision, then away; resolves with that decision. */
  passage(what: string): Promise<Decision>;
  /** Waits until the terminal applied roster version `v`. */
  rosterAt(v: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startBundleTerminal(bundle: TerminalBundle): Promise<BundleTerminal> {
  const raw = JSON.parse(readFileSync(bundle.configFile, 'utf8')) as Record<string, unknown>;
  const config = parseConfig(
    {
      ...raw,
      camera: { kind: 'file', input: { kind: 'video', path: testFile(FRANCK_VIDEO) }, realtime: true, loop: true },
      gpio: { ...(raw['gpio'] as object), driver: 'fake' },
      health: { port: 0 },
      logging: { level: 'silent' },
      // A recorded video is a replay to the liveness evidence, which rightly refuses it; these tests are
      // about the management plane, so this door accepts any liveness.
      ...('liveness' in ConfigSchema.shape ? { liveness: { preset: 'fast', fastAccept: 0, fastReject: 0, fastPath: 'score' } } : {}),
    },
    bundle.configFile,
    dirname(bundle.configFile),
  );
  if (config.camera.kind !== 'file') throw new Error('file camera expected');
  const clock = new SystemClock();
  const gpio = new FakeGpio(clock);
  const camera = new GatedSource(new FileSource(config.camera, { clock, logger: silentLogger() }));
  const decisions: Decision[] = [];
  const notices: string[] = [];
  const remoteUnlocks: number[] = [];
  const onNotice = (n: TerminalNotice): void => {
    if (n.kind === 'loop' && n.event.type === 'decision') decisions.push(n.event);
    if (n.kind === 'status') notices.push(n.message);
    if (n.kind === 'lock' && n.event.type === 'unlocked' && n.event.source === 'remote') remoteUnlocks.push(n.event.at);
  };
  const terminal = await startTerminal({ config, gpio, clock, camera, onNotice });
  return {
    config,
    terminal,
    gpio,
    camera,
    decisions,
    notices,
    remoteUnlocks,
    async passage(what) {
      const before = decisions.length;
      camera.open = true;
      let d: Decision;
      try {
        // Generous: a functional wait, not a speed figure (a loaded 2-core machine runs several suites).
        d = await waitFor(() => decisions[before], 40_000, what);
      } finally {
        camera.open = false; // he walks away whatever happened, so the next test starts with no one at the door
      }
      // He walks away: time itself must pass, as the tracker ends his track only after trackGapMs
      // without a face (no event marks it), so that his next passage is a new decision.
      await sleep((config.evidence.trackGapMs ?? 700) + 500);
      return d;
    },
    rosterAt: (v) => waitFor(() => notices.find((m) => m.endsWith(`applied: version ${v}`)), 15_000, `roster version ${v}`),
    stop: () => terminal.stop(),
  };
}
