/**
 * The terminal's one config file (JSON), validated by zod. Unknown keys are refused everywhere; a bad
 * file stops start-up with every problem listed with its path in the file. Each component owns the
 * schema of its own section (drivers, pipeline); this file composes them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { fileSourceConfigSchema, rtspSourceConfigSchema } from '../drivers/camera';
import { gpioConfigSchema } from '../drivers/gpio';
import { wiegandConfigSchema } from '../drivers/wiegand';
import { lockConfigSchema } from '../drivers/lock';
import { PipelineOptionsSchema } from '../models/pipeline';
import { DEFAULT_MATCH_THRESHOLD } from '../models/thresholds';
import { AdaptationPolicySchema } from './roster/adaptation';
import { AccessConfigSchema } from './access/controller';
import { PassScanConfigSchema } from './pass/scanner';
import { LivenessPolicySchema } from './loop/liveness-fusion';
import { TerminalError } from '../core/errors';
import { TimeZoneSchema } from '../core/time-zone';
import { IdSchema } from './protocol/ids';

export class ConfigError extends TerminalError {
  readonly code = 'config';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
    /** Where in the file each problem is (`decision.match`; `(file)` when it cannot be read or parsed): safe to log and report, never a value. */
    readonly paths: readonly string[] = problems.map(() => '(file)'),
  ) {
    // One line: the CLI prints it as is. Problems never quote the file's text (an RTSP URL can hold a password).
    super(`config ${file} is invalid: ${problems.join('; ')}`);
  }
}

/** Terminal, door and building ids: the one identifier rule shared with the hub (protocol/ids.ts). */
const id = IdSchema;

/** A zod issue as a problem line that names where, never what: values are not repeated, and an unknown key is named only when it looks like a key. */
function problemOf(issue: z.core.$ZodIssue, where: string): string {
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => (/^[A-Za-z0-9_.-]{1,64}$/.test(k) ? `"${k}"` : '(a key that is not a name)'));
    return `${where}: Unrecognized key${names.length > 1 ? 's' : ''}: ${names.join(', ')}`;
  }
  return `${where}: ${issue.message.replace(/[^\x20-\x7e]/g, ' ')}`;
}

/** "at line L, column C" from a JSON.parse error, without its message (V8 quotes the text around the error). */
export function jsonErrorPlace(text: string, e: unknown): string {
  const message = e instanceof Error ? e.message : '';
  if (/end of JSON input/.test(message)) return ': it ends too early';
  const m = /at position (\d+)/.exec(message);
  if (!m) return '';
  const pos = Math.min(Number(m[1]), text.length);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}


export const ConfigSchema = z.strictObject({
  terminalId: id,
  door: z.strictObject({
    doorId: id,
    buildingId: id,
    /** IANA zone in which authorisation hours are read. */
    timeZone: TimeZoneSchema,
  }),
  camera: z.discriminatedUnion('kind', [
    rtspSourceConfigSchema.extend({ kind: z.literal('rtsp') }),
    fileSourceConfigSchema.extend({ kind: z.literal('file') }),
  ]),
  gpio: gpioConfigSchema.extend({
    /** onoff: Linux GPIO sysfs (the real board); fake: in-memory lines for demos and tests. */
    driver: z.enum(['onoff', 'fake']).default('onoff'),
  }),
  lock: lockConfigSchema,
  pipeline: PipelineOptionsSchema.prefault({}),
  decision: z
    .strictObject({
      /** Median cosine over the evidence frames needed to identify someone. */
      match: z.number().min(0).max(1).default(DEFAULT_MATCH_THRESHOLD),
      /** How far the best person must lead the next one (look-alikes, twins). */
      margin: z.number().min(0).max(1).default(0.08),
      /** Liveness score needed when the liveness verdict is numeric. */
      liveness: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  /** Liveness policy of this door: a preset (strict, balanced, fast), a preset with overrides, or explicit. */
  liveness: LivenessPolicySchema.default('balanced'),
  evidence: z
    .strictObject({
      /** Good-quality frames needed before a decision (k of n). */
      minFrames: z.number().int().min(1).max(50).default(3),
      /** Frames gathered at most per passage (n). */
      maxFrames: z.number().int().min(1).max(200).default(12),
      /** From a face's first frame to the decision at the latest (at least the liveness budget). */
      budgetMs: z.number().int().min(50).max(30_000).default(3000),
      /** A face unseen for this long has left; the next one is a new passage. */
      trackGapMs: z.number().int().min(50).max(30_000).default(700),
    })
    .refine((e) => e.minFrames <= e.maxFrames, 'minFrames must not exceed maxFrames')
    .prefault({}),
  /** Template adaptation from confident door captures (runtime/roster/adaptation.ts), shared through the hub. */
  adaptation: AdaptationPolicySchema.prefault({}),
  /** What opens this door besides (or instead of) a face: cards, PINs, passes (runtime/access). */
  access: AccessConfigSchema.prefault({}),
  /** Visitor passes read from the camera frames (runtime/pass/scanner.ts). */
  passes: PassScanConfigSchema.prefault({}),
  /** A Wiegand card reader and/or keypad on two pulse lines (drivers/wiegand); absent: none. */
  wiegand: wiegandConfigSchema.optional(),
  hub: z
    .strictObject({
      url: z.string().regex(/^(mqtts?|tls|ssl|tcp):\/\//, 'an mqtt:// or mqtts:// URL'),
      caFile: z.string().min(1),
      certFile: z.string().min(1),
      keyFile: z.string().min(1),
      /** The hub's Ed25519 public key (PEM), pinned at provisioning. */
      hubPublicKeyFile: z.string().min(1),
      /**
       * The hub's X25519 sealing key (PEM), pinned at provisioning: adapted templates go to the hub
       * sealed to it. Absent (a bundle from before it): adapted templates stay on this terminal.
       */
      hubSealKeyFile: z.string().min(1).optional(),
      /**
       * This terminal's roster key (32 random bytes, 0600), created by the hub with the terminal: roster
       * data comes sealed to it (runtime/protocol/roster-seal.ts) and plain roster data is refused.
       * Absent (a bundle from before it): plain roster data is taken.
       */
      rosterKeyFile: z.string().min(1).optional(),
      heartbeatMs: z.number().int().min(1000).default(30_000),
      /** Reconnect back-off: the wait doubles from min to max after each failed attempt (jittered). */
      reconnectMinMs: z.number().int().min(100).max(600_000).default(500),
      reconnectMaxMs: z.number().int().min(100).max(3_600_000).default(30_000),
      connectTimeoutMs: z.number().int().min(1000).max(600_000).default(10_000),
      keepaliveS: z.number().int().min(5).max(3600).default(30),
      /** On stop, how long the outbox may take to drain to a connected hub before the link closes. */
      stopFlushMs: z.number().int().min(0).max(60_000).default(3_000),
    })
    .refine((h) => h.reconnectMinMs <= h.reconnectMaxMs, 'reconnectMinMs must not exceed reconnectMaxMs')
    .optional(),
  /** The event outbox (sync file) and the memory buffer used while that file cannot be written. */
  events: z
    .strictObject({
      /** Events kept waiting for the hub; beyond it the oldest non-security events are dropped. */
      outboxCapacity: z.number().int().min(1000).max(10_000_000).default(100_000),
      /** Events held in memory while the sync file is unusable (lost on a restart). */
      memoryCapacity: z.number().int().min(100).max(1_000_000).default(10_000),
    })
    .prefault({}),
  /** Remote unlocks (the hub's signed `unlock`) carried out per terminal: at most `max` per `windowMs`. */
  remoteUnlock: z
    .strictObject({
      max: z.number().int().min(1).max(1000).default(6),
      windowMs: z.number().int().min(1000).max(86_400_000).default(60_000),
    })
    .prefault({}),
  /** What the resident hears and sees (buzzer and status LED, when wired): patterns in ms. */
  feedback: z
    .strictObject({
      /** One beep when the door is released for a grant (face, credential, remote). */
      grantBeepMs: z.number().int().min(0).max(5_000).default(200),
      /** Short beeps and LED blinks for a refused face. */
      denyBeeps: z.number().int().min(0).max(10).default(2),
      denyBlinks: z.number().int().min(0).max(20).default(3),
      denyToneMs: z.number().int().min(20).max(5_000).default(100),
      /** Buzzer on/off while a door alarm (forced-open, held-open, tamper) or a relay fault lasts. */
      alarmOnMs: z.number().int().min(50).max(10_000).default(500),
      alarmOffMs: z.number().int().min(50).max(10_000).default(500),
    })
    .prefault({}),
  paths: z.strictObject({
    dataDir: z.string().min(1),
    /** Device secret for roster encryption (0600), written at provisioning. */
    secretFile: z.string().min(1),
    /** The community's credential secret (0600, in the bundle): cards and PINs are digested with it. */
    credentialSecretFile: z.string().min(1).optional(),
  }),
  health: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** The loop must finish a step within this while frames arrive, or the process exits for a restart. */
      stallExitMs: z.number().int().min(1000).default(15_000),
      /** A frame older than this means the camera is not fresh (healthz fails). */
      frameFreshMs: z.number().int().min(100).default(3_000),
      /** How often the stall check runs. */
      stallCheckMs: z.number().int().min(50).max(60_000).default(1_000),
      /** Camera fps (metrics, heartbeat) is counted over windows of this length. */
      fpsWindowMs: z.number().int().min(500).max(300_000).default(5_000),
    })
    .prefault({}),
  logging: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  /** Software updates (runtime/update/README.md): read by `doorway update` and, for reports, by the terminal. */
  update: z
    .strictObject({
      /** Holds slots/a, slots/b and the `current` link that systemd starts. */
      root: z.string().min(1).default('/opt/doorway'),
      /** The update agent's state, reports and downloads; default DATA_DIR/update. */
      stateDir: z.string().min(1).optional(),
      /** The community's update key (update-signing.pub, pinned at provisioning). Absent on terminals
       * provisioned before update keys: the key is then learnt once from a bundle endorsed by the hub key. */
      publicKeyFile: z.string().min(1).optional(),
      /** The unit the agent restarts. */
      service: z.string().regex(/^[A-Za-z0-9@._-]+\.service$/, 'a systemd service unit name').default('doorway.service'),
      /** How often the terminal moves the agent's reports into its outbox. */
      reportPollMs: z.number().int().min(500).max(3_600_000).default(10_000),
      health: z
        .strictObject({
          /** From the restart until every health check passes. */
          startTimeoutMs: z.number().int().min(1000).default(120_000),
          /** After that, no crash and no lasting failure for this long, or the update is rolled back. */
          windowMs: z.number().int().min(0).default(300_000),
          pollMs: z.number().int().min(50).default(2000),
          /** Probes failing in a row within the window that roll the update back. */
          failAfterProbes: z.number().int().min(1).max(100).default(3),
        })
        .prefault({}),
      door: z
        .strictObject({
          pollMs: z.number().int().min(50).default(1000),
          /** The agent waits this long for a door that is neither released, open nor in a passage. */
          idleTimeoutMs: z.number().int().min(0).default(900_000),
        })
        .prefault({}),
      download: z
        .strictObject({
          attempts: z.number().int().min(1).max(100).default(5),
          /** Wait before attempt n+1: n times this. */
          retryMs: z.number().int().min(0).default(10_000),
          idleTimeoutMs: z.number().int().min(1000).default(30_000),
        })
        .prefault({}),
    })
    .prefault({}),
});
export type Config = z.infer<typeof ConfigSchema>;

/** Parses a config object; relative paths are resolved against `baseDir` (the config file's folder). */
export function parseConfig(raw: unknown, file = '(config)', baseDir = process.cwd()): Config {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const where = r.error.issues.map((i) => (i.path.length ? i.path.join('.') : '(top level)'));
    throw new ConfigError(file, r.error.issues.map((i, n) => problemOf(i, where[n] ?? '')), where);
  }
  const c = r.data;
  const abs = (p: string): string => resolve(baseDir, p);
  c.paths.dataDir = abs(c.paths.dataDir);
  c.paths.secretFile = abs(c.paths.secretFile);
  if (c.paths.credentialSecretFile) c.paths.credentialSecretFile = abs(c.paths.credentialSecretFile);
  if (c.hub) {
    c.hub.caFile = abs(c.hub.caFile);
    c.hub.certFile = abs(c.hub.certFile);
    c.hub.keyFile = abs(c.hub.keyFile);
    c.hub.hubPublicKeyFile = abs(c.hub.hubPublicKeyFile);
    if (c.hub.hubSealKeyFile !== undefined) c.hub.hubSealKeyFile = abs(c.hub.hubSealKeyFile);
    if (c.hub.rosterKeyFile !== undefined) c.hub.rosterKeyFile = abs(c.hub.rosterKeyFile);
  }
  if (c.camera.kind === 'file') {
    if (c.camera.input.kind === 'video') c.camera.input.path = abs(c.camera.input.path);
    else c.camera.input.pattern = abs(c.camera.input.pattern);
  }
  if (c.pipeline.modelDir) c.pipeline.modelDir = abs(c.pipeline.modelDir);
  c.update.root = abs(c.update.root);
  if (c.update.stateDir) c.update.stateDir = abs(c.update.stateDir);
  if (c.update.publicKeyFile) c.update.publicKeyFile = abs(c.update.publicKeyFile);
  return c;
}

/** Where the update agent keeps its state (config `update.stateDir`, default DATA_DIR/update). */
export function updateStateDir(c: Config): string {
  return c.update.stateDir ?? join(c.paths.dataDir, 'update');
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`is not valid JSON${jsonErrorPlace(text, e)}`]);
  }
  return parseConfig(raw, file, dirname(resolve(file)));
}
