/**
 * Passes shown to the door camera. On its own timer (`intervalMs`, a few frames apart at 25 fps) the
 * scanner takes the camera's latest frame, if it is new, looks for a QR code, and decides once per
 * presentation: a pass that stays in view (seen again within `presentationGapMs`) is one attempt, not
 * one per frame; shown again after leaving view, it is a new attempt (and a single-use pass is then
 * `used-up`). The face loop is not involved: the scanner only reads the latest frame, as the loop does,
 * and its decode (a few ms) runs between the loop's steps on the same thread.
 *
 * Fails closed: any error on the way leaves the door locked and is reported as a denial (`error`).
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { RawFrame } from '../../models/image';
import { decodePass, isPassText, type PassId } from '../protocol/pass';
import type { PassLedger } from './ledger';
import { judgePass, type PassDenyReason, type PassVerdict } from './rules';

export const PassScanConfigSchema = z.strictObject({
  /** Look for passes in the camera frames at all. */
  enabled: z.boolean().default(true),
  /** How often the latest frame is scanned (120 ms: about every third frame at 25 fps). */
  intervalMs: z.number().int().min(20).max(5_000).default(120),
  /** A pass unseen for this long has left the camera's view; shown again, it is a new attempt. */
  presentationGapMs: z.number().int().min(100).max(60_000).default(1_500),
});
export type PassScanConfig = z.infer<typeof PassScanConfigSchema>;

export interface ScanFrame extends RawFrame {
  capturedAt: number;
  seq: number;
}

export interface PassRevocations {
  /** False while the terminal holds no roster (never synced, or wiped). */
  revocationsKnown(): boolean;
  isPassRevoked(passId: PassId): boolean;
}

export interface PassScannerDeps {
  clock: Clock;
  logger: Logger;
  frames: { latest(): ScanFrame | null };
  decoder: { decode(frame: RawFrame): readonly { text: string }[] };
  hubPublicKey: KeyObject;
  /** Read at every decision, so a reloaded door config applies at once. */
  door: () => { doorId: string; buildingId: string };
  revocations: PassRevocations;
  ledger: PassLedger;
  lock: { grant(source: 'qr'): string };
  emit: (e: PassEvent) => void;
  config: PassScanConfig;
  /** Whether the door's policy accepts passes now (read at each decision; default yes). */
  accepting?: () => boolean;
}

export interface PassEvent {
  type: 'pass';
  at: number;
  outcome: 'grant' | 'deny';
  /** null for a grant; `error` when the decision path failed (door kept locked). */
  reason: PassDenyReason | 'method-not-accepted' | 'error' | null;
  passId: PassId | null;
  /** Uses counted on this terminal after this attempt (grants only). */
  uses: number | null;
  /** What the lock did with a grant. */
  lock: string | null;
  /** From the capture of the frame the pass was read in to the decision (and relay command). */
  latencyMs: number;
}

/** Verifies one QR text as the terminal does, without counting a use (`doorway pass check`). */
export function checkPassText(text: string, hubPublicKey: KeyObject, ctx: { now: number; doorId: string; buildingId: string; revocations: PassRevocations; usesSoFar: (id: PassId) => number }): PassVerdict {
  return judgePass(decodePass(text, hubPublicKey), {
    now: ctx.now,
    doorId: ctx.doorId,
    buildingId: ctx.buildingId,
    revocationsKnown: ctx.revocations.revocationsKnown(),
    isRevoked: (id) => ctx.revocations.isPassRevoked(id),
    usesSoFar: ctx.usesSoFar,
  });
}

export class PassScanner {
  private readonly log: Logger;
  private timer: TimerHandle | null = null;
  private lastSeq = -1;
  private current: { text: string; lastSeen: number } | null = null;
  /** Decode time of the last scanned frame (ms), for the health report and the bench. */
  lastDecodeMs: number | null = null;
  scanned = 0;
  /** QR codes seen that are not passes (a parcel label, a poster): ignored. */
  foreign = 0;

  constructor(private readonly deps: PassScannerDeps) {
    this.log = deps.logger.child({ module: 'pass' });
  }

  start(): void {
    if (this.timer || !this.deps.config.enabled) return;
    this.timer = this.deps.clock.setInterval(() => this.step(), this.deps.config.intervalMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Scans the latest frame if it is new; returns the decision made on it, if any. */
  step(): PassEvent | null {
    const frame = this.deps.frames.latest();
    if (!frame || frame.seq === this.lastSeq) return null;
    this.lastSeq = frame.seq;
    const { clock } = this.deps;
    let texts: string[];
    try {
      const t0 = clock.monotonic();
      const found = this.deps.decoder.decode(frame);
      this.lastDecodeMs = clock.monotonic() - t0;
      this.scanned++;
      texts = found.map((r) => r.text);
    } catch (e) {
      this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: (e as Error).message }, 'QR decode failed; frame skipped');
      return null;
    }
    const now = clock.now();
    if (this.current && now - this.current.lastSeen >= this.deps.config.presentationGapMs) this.current = null;
    const text = texts.find(isPassText);
    if (text === undefined) {
      if (texts.length > 0) this.foreign++;
      return null;
    }
    if (this.current && this.current.text === text) {
      this.current.lastSeen = now;
      return null;
    }
    this.current = { text, lastSeen: now };
    const ev = this.decide(text, frame.capturedAt);
    this.deps.emit(ev);
    return ev;
  }

  private decide(text: string, capturedAt: number): PassEvent {
    const { clock, ledger } = this.deps;
    const latency = (): number => Math.max(0, clock.now() - capturedAt);
    try {
      if (this.deps.accepting && !this.deps.accepting()) {
        return { type: 'pass', at: clock.now(), outcome: 'deny', reason: 'method-not-accepted', passId: null, uses: null, lock: null, latencyMs: latency() };
      }
      const door = this.deps.door();
      const verdict = checkPassText(text, this.deps.hubPublicKey, {
        now: clock.now(),
        doorId: door.doorId,
        buildingId: door.buildingId,
        revocations: this.deps.revocations,
        usesSoFar: (id) => ledger.uses(id),
      });
      if (!verdict.ok) {
        this.log.info({ passId: verdict.passId, reason: verdict.reason }, 'pass refused');
        return { type: 'pass', at: clock.now(), outcome: 'deny', reason: verdict.reason, passId: verdict.passId, uses: null, lock: null, latencyMs: latency() };
      }
      const p = verdict.pass;
      // The use is committed before the door is released.
      const uses = ledger.consume(p.passId, p.uses, p.notAfter);
      if (uses === null) return { type: 'pass', at: clock.now(), outcome: 'deny', reason: 'used-up', passId: p.passId, uses: null, lock: null, latencyMs: latency() };
      const lock = this.deps.lock.grant('qr');
      this.log.info({ passId: p.passId, uses, lock }, 'pass accepted');
      return { type: 'pass', at: clock.now(), outcome: 'grant', reason: null, passId: p.passId, uses, lock, latencyMs: latency() };
    } catch (e) {
      this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: (e as Error).message }, 'pass decision failed; door stays locked');
      return { type: 'pass', at: clock.now(), outcome: 'deny', reason: 'error', passId: null, uses: null, lock: null, latencyMs: latency() };
    }
  }
}
