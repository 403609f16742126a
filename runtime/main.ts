/**
 * The composition root: the only place that builds real parts (GPIO driver, lock controller, camera,
 * the sync file, the encrypted roster, the face models, template adaptation, the MQTT connection and
 * its certificate installer, the update agent's report folder, the QR decoder, the credential key and
 * the Wiegand reader) and hands them to a Terminal
 * (runtime/terminal/), which arms the door before it opens anything that can fail. Parts that can
 * fail to open are handed over as openers, so that a corrupt file, a bad key or a missing
 * certificate becomes degraded mode there instead of a crash here.
 */
import { readFileSync } from 'node:fs';
import { ensurePrivateDir } from '../core/fs';
import { createPublicKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import { FileSource, RtspSource, type FrameSource } from '../drivers/camera';
import { openDoorLines, type GpioFactory } from '../drivers/gpio';
import { FakeGpio } from '../drivers/gpio/fake';
import { OnoffGpio } from '../drivers/gpio/onoff';
import { installLockExitGuards, LockController } from '../drivers/lock';
import { FacePipeline } from '../models/pipeline';
import { SystemClock, type Clock } from '../core/clock';
import { createLogger, type Logger } from '../core/log';
import { loadConfig, updateStateDir, type Config } from './config';
import { LivenessFusion } from './loop/liveness-fusion';
import { LocalAdaptation } from './roster/local-adaptation';
import { loadSealPublicKey } from './protocol/sealed';
import { loadRosterKeyFile } from './protocol/roster-seal';
import { Matcher } from './roster/matcher';
import { RosterStore } from './roster/store';
import { CertificateInstaller } from './sync/certificate';
import { DEFAULT_TIMING } from './sync/client';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from './sync/roster-store-sink';
import { stagingKeyFromSecretFile } from './sync/snapshot-staging';
import { MqttTransport } from './sync/transport';
import { SystemdNotifier } from './systemd';
import { WiegandReader } from '../drivers/wiegand';
import { CredentialKeyError, credentialKeyFromFile } from './access/digest';
import { QrDecoder } from './pass/qr-decoder';
import { SystemdRunLauncher } from './update/launcher';
import { UpdateLink } from './update/terminal-link';
import { openEventStore } from './terminal/event-store';
import type { TerminalParts } from './terminal/parts';
import { Terminal, type TerminalNotice } from './terminal/terminal';

export { Terminal, type TerminalNotice } from './terminal/terminal';
export { EXIT_RESTART_FOR_CONFIG, type ReloadResult } from './terminal/reload';
export { EXIT_LOOP_STALLED } from './terminal/watchdog';

export const SOFTWARE_VERSION = '0.1.0';


export interface TerminalOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** Replaces the GPIO driver chosen by config (site tests inject their own fake to script inputs). */
  gpio?: GpioFactory;
  /** Replaces the camera built from config (benchmarks observe frame delivery; tests script frames). */
  camera?: FrameSource;
  onNotice?: (n: TerminalNotice) => void;
  /** The config file `config` was read from: `reload-config` (and SIGHUP) re-read it. */
  configFile?: string;
  /** Ends the process (default process.exit); tests observe the restart exit instead. */
  exit?: (code: number) => void;
}

/** The real parts of a terminal, opened when the Terminal asks for them (after the door is armed). */
/** `configFile`: the terminal's config file, handed to the update agent a hub's offer starts (none: offers are refused). */
export function realParts(config: Config, clock: Clock, log: Logger, gpio: GpioFactory, configFile: string | null = null): TerminalParts {
  const dataDir = config.paths.dataDir;
  let store: RosterStore | null = null;
  let matcher: Matcher | null = null;
  return {
    openEventStore: () => {
      ensurePrivateDir(dataDir);
      return openEventStore(join(dataDir, 'sync.db'), { clock, log, skewMs: DEFAULT_TIMING.commandMaxSkewMs });
    },
    openRoster: () => {
      ensurePrivateDir(dataDir);
      store = RosterStore.open({ path: join(dataDir, 'roster.db'), secretFile: config.paths.secretFile, logger: log, clock });
      return store;
    },
    loadFaces: () => FacePipeline.load(config.pipeline),
    matcherFor: (_roster, modelId) => {
      if (!store) throw new Error('roster not open');
      matcher = Matcher.fromStore(store, { modelId, logger: log });
      return matcher;
    },
    adaptationFor: () => {
      if (!store || !matcher) throw new Error('roster or matcher not open');
      return new LocalAdaptation(store, matcher, log, config.adaptation);
    },
    hubLink: (events) => {
      const hub = config.hub;
      if (!hub) return null;
      let stagingKey;
      try {
        // Staged snapshot chunks are sealed with a key of their own from the same device secret.
        stagingKey = stagingKeyFromSecretFile(events.db, config.paths.secretFile);
      } catch {
        // The device secret is unusable (the roster says why): chunks are sealed with a key in memory.
        stagingKey = undefined;
      }
      return {
        transport: new MqttTransport({
          url: hub.url,
          clientId: config.terminalId,
          ca: readFileSync(hub.caFile),
          cert: readFileSync(hub.certFile),
          key: readFileSync(hub.keyFile),
          reconnectMinMs: hub.reconnectMinMs,
          reconnectMaxMs: hub.reconnectMaxMs,
          connectTimeoutMs: hub.connectTimeoutMs,
          keepaliveS: hub.keepaliveS,
          log,
        }),
        hubPublicKey: createPublicKey(readFileSync(hub.hubPublicKeyFile)),
        ...(hub.hubSealKeyFile !== undefined ? { hubSealKey: loadSealPublicKey(readFileSync(hub.hubSealKeyFile)) } : {}),
        ...(hub.rosterKeyFile !== undefined ? { rosterKey: loadRosterKeyFile(hub.rosterKeyFile) } : {}),
        ...(stagingKey ? { stagingKey } : {}),
        // Renewed certificates from the hub replace the bundle's certFile (runtime/sync/certificate.ts).
        certificates: new CertificateInstaller({ terminalId: config.terminalId, files: { certFile: hub.certFile, keyFile: hub.keyFile, caFile: hub.caFile }, clock, log }),
        rosterSink: store ? new RosterStoreSink(store) : null,
        ...ROSTER_STORE_SCHEMAS,
      };
    },
    livenessFor: (policy) => new LivenessFusion(policy, clock, 'bgr'),
    // The update agent (a process of its own) leaves its reports as files and keeps its state beside them;
    // a hub's offer starts it as a transient systemd unit.
    updateLink: () => new UpdateLink(updateStateDir(config), config.update.root, configFile ? new SystemdRunLauncher({ configFile, root: config.update.root }) : null),
    passReader: async () => {
      if (!config.hub) return null;
      const hubPublicKey = createPublicKey(readFileSync(config.hub.hubPublicKeyFile));
      return { decoder: await QrDecoder.load(), hubPublicKey };
    },
    credentialKey: () => {
      if (!config.paths.credentialSecretFile) throw new CredentialKeyError('a Wiegand reader is configured but paths.credentialSecretFile is not');
      return credentialKeyFromFile(config.paths.credentialSecretFile);
    },
    openWiegand: () => {
      if (!config.wiegand) return null;
      const reader = new WiegandReader(gpio, clock, config.wiegand, log);
      reader.start();
      return reader;
    },
  };
}

/**
 * Builds a terminal from its config with real parts (or the GPIO driver and camera given) and starts
 * it. GPIO lines that cannot be opened end start-up: without its relay there is no door to keep.
 */
export async function startTerminal(opts: TerminalOptions): Promise<Terminal> {
  const { config } = opts;
  const clock = opts.clock ?? new SystemClock();
  const log = opts.logger ?? createLogger({ level: config.logging.level });
  const gpio = opts.gpio ?? (config.gpio.driver === 'onoff' ? new OnoffGpio(clock, log) : new FakeGpio(clock));
  const lines = openDoorLines(gpio, config.gpio, LockController.relayActiveWhen(config.lock.lockType, true));
  const lock = new LockController({ relay: lines.relay, inputs: lines.inputs, clock, config: config.lock, logger: log });
  // The sources find their decoder themselves (core/programs.ts) and report a missing one as a camera error.
  const camera = opts.camera ?? (config.camera.kind === 'rtsp' ? new RtspSource(config.camera, { clock, logger: log }) : new FileSource(config.camera, { clock, logger: log }));
  const t = new Terminal({
    config,
    clock,
    log,
    lock,
    ...(lines.buzzer ? { buzzer: lines.buzzer } : {}),
    ...(lines.led ? { led: lines.led } : {}),
    camera,
    parts: realParts(config, clock, log, gpio, opts.configFile ?? null),
    systemd: new SystemdNotifier(process.env, clock, log),
    softwareVersion: SOFTWARE_VERSION,
    configFile: opts.configFile ?? null,
    ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
    exit: opts.exit ?? ((code) => process.exit(code)),
  });
  await t.start();
  return t;
}

/**
 * SIGTERM/SIGINT: stop cleanly, exit 0. SIGHUP: reload the config file, as the hub's `reload-config`
 * does. 'exit': the last-gasp relay guard. Returns the function that removes them.
 */
export function installSignalHandlers(t: Terminal): () => void {
  const remove = installLockExitGuards(t.lock, { exitOnSignal: false });
  const onSignal = (): void => {
    t.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  const onHup = (): void => {
    t.reloadConfig().catch((e: unknown) => t.log.error({ error: (e as Error).name }, 'config reload failed'));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGHUP', onHup);
  return () => {
    remove();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
  };
}

/** `doorway run --config FILE` */
export async function runFromConfigFile(file: string): Promise<Terminal> {
  const t = await startTerminal({ config: loadConfig(file), configFile: resolve(file) });
  installSignalHandlers(t);
  return t;
}
