/**
 * What the update agent asks the running terminal, over the terminal's own /healthz on localhost
 * (runtime/health.ts): is it healthy (frame loop running, camera frames fresh, models and roster
 * loaded, lock running, hub connected), and is the door busy (released, open, or a face being decided)?
 * The agent never restarts a busy door.
 */
import { z } from 'zod';

export interface DoorActivity {
  /** Lock controller state: `unlocked` (a grant's pulse) and `fire-release` are released. */
  lock: string;
  doorOpen: boolean;
  /** A face track is being followed or decided. */
  passage: boolean;
}

export interface TerminalHealth {
  /** false: no answer (not started yet, crashed, or not listening). */
  reachable: boolean;
  /** Each check by name (loopRunning, cameraFresh, modelsLoaded, rosterLoaded, lockOk, hubConnected). */
  checks: Record<string, boolean | null>;
  door: DoorActivity | null;
  /** Persons whose templates are of another model than the one running (never compared; need re-enrolment). */
  reenrolment: number | null;
}

export interface TerminalProbe {
  health(): Promise<TerminalHealth>;
}

/** Released, open, or in the middle of a passage: no restart now. Unknown (no answer) counts as busy. */
export function doorBusy(h: TerminalHealth): boolean {
  if (!h.door) return true;
  return h.door.lock === 'unlocked' || h.door.lock === 'fire-release' || h.door.doorOpen || h.door.passage;
}

/** Checks that failed (false, or missing from an answer). `required` names the checks that must be true. */
export function failingChecks(h: TerminalHealth, required: readonly string[]): string[] {
  if (!h.reachable) return ['no-answer'];
  return required.filter((k) => h.checks[k] !== true);
}

const HealthzSchema = z.looseObject({
  ok: z.boolean(),
  loopRunning: z.boolean().nullable().optional(),
  cameraFresh: z.boolean().optional(),
  modelsLoaded: z.boolean().optional(),
  rosterLoaded: z.boolean().optional(),
  lockOk: z.boolean().optional(),
  hubConnected: z.boolean().nullable().optional(),
  door: z.looseObject({ lock: z.string(), doorOpen: z.boolean(), passage: z.boolean() }).optional(),
  reenrolment: z.number().int().nonnegative().optional(),
});

const CHECKS = ['loopRunning', 'cameraFresh', 'modelsLoaded', 'rosterLoaded', 'lockOk', 'hubConnected'] as const;

/** Reads http://HOST:PORT/healthz (any status: 503 carries the failing checks too). */
export class HttpTerminalProbe implements TerminalProbe {
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = 2000,
  ) {}

  async health(): Promise<TerminalHealth> {
    let body: unknown;
    try {
      const res = await fetch(`http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}/healthz`, { signal: AbortSignal.timeout(this.timeoutMs) });
      body = await res.json();
    } catch {
      return { reachable: false, checks: {}, door: null, reenrolment: null };
    }
    const r = HealthzSchema.safeParse(body);
    if (!r.success) return { reachable: false, checks: {}, door: null, reenrolment: null };
    const checks: Record<string, boolean | null> = {};
    for (const k of CHECKS) checks[k] = r.data[k] ?? null;
    return {
      reachable: true,
      checks,
      door: r.data.door ? { lock: r.data.door.lock, doorOpen: r.data.door.doorOpen, passage: r.data.door.passage } : null,
      reenrolment: r.data.reenrolment ?? null,
    };
  }
}
