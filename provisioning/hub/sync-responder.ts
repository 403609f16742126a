/**
 * Answers terminals' roster requests: a sync from a version gets the recorded deltas after it, or a
 * snapshot when the terminal is too far behind or off this hub's history; a snapshot request gets one
 * window of chunks (SNAPSHOT_WINDOW_CHUNKS), the first ones missing or the first of a new snapshot. A
 * heartbeat showing a roster off this hub's history (a hub restored from a backup) is sent a snapshot
 * without waiting for the terminal to ask.
 *
 * With per-door rosters (a hub with a store, terminal-rosters.ts) every answer is the terminal's own:
 * a catch-up computed for it (one delta from its version), or a snapshot of its scope, sealed to it
 * chunk by chunk as its queue reaches them (snapshot-sender.ts).
 * A terminal not yet sent a snapshot of its scope (it may hold a whole roster from before per-door
 * rosters) gets one at its first request or heartbeat.
 */
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../../runtime/protocol/codec';
import { SNAPSHOT_WINDOW_CHUNKS } from '../../runtime/protocol/limits';
import { RequestMessageSchema, StatusMessageSchema, type HeldEpoch } from '../../runtime/protocol/schemas';
import { topicsFor } from '../../runtime/protocol/topics';
import type { HubContext, HubPart, TerminalMessage } from './context';
import type { Epochs } from './epochs';
import { SnapshotSender } from './snapshot-sender';

/** At most one epoch started for a terminal's report per this period. */
const EPOCH_COOLDOWN_MS = 10 * 60_000;

export class SyncResponder<Item> implements HubPart {
  private readonly offHistorySentAt = new Map<string, number>();
  private lastEpochStartAt = -Infinity;
  /** Per-door snapshots go out chunk by chunk, a queue per terminal (snapshot-sender.ts). */
  private readonly chunks: SnapshotSender;

  constructor(
    private readonly ctx: HubContext<Item>,
    private readonly epochs: Epochs<Item>,
  ) {
    const scoped = ctx.scoped;
    this.chunks = new SnapshotSender(ctx.transport, { chunk: (id, snapshotId, index) => scoped?.chunk(id, snapshotId, index) ?? null }, ctx.clock, ctx.log);
  }

  onMessage(m: TerminalMessage): void {
    const max = this.ctx.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (m.kind === 'requests') {
      const req = decodePlain(m.payload, RequestMessageSchema, max);
      if (req.kind === 'sync') {
        const held = req.epoch ?? null;
        const scoped = this.ctx.scoped;
        if (scoped) {
          const t = scoped.terminal(m.terminalId);
          if (!t) return;
          // A catch-up is one delta in the current epoch: a terminal takes it from the current epoch or
          // from the one it directly continues; from further back it needs a snapshot.
          const cur = this.ctx.roster.epoch();
          const heldId = held?.id ?? null;
          const direct = heldId === cur.id || (cur.continues !== null && cur.continues.epoch === heldId);
          const ok = req.version > 0 && direct && this.ctx.roster.onHistory(held, req.version) && scoped.scopedAt(t.id, req.version);
          const answer = ok ? scoped.catchUp(t, req.version, this.ctx.clock.now()) : null;
          if (answer) this.fire(m.terminalId, answer);
          else this.sendSnapshotFor(m.terminalId, held);
          return;
        }
        const deltas = this.ctx.roster.answerSync(held, req.version);
        if (deltas && deltas.length <= (this.ctx.options.maxReplay ?? 1000)) this.fire(m.terminalId, deltas);
        else this.sendSnapshotFor(m.terminalId, held);
      } else if (this.ctx.scoped) {
        const scoped = this.ctx.scoped;
        const t = scoped.terminal(m.terminalId);
        if (!t) return;
        const kept = req.resume ? scoped.keptSnapshot(t.id, req.resume.snapshotId, this.ctx.clock.monotonic()) : undefined;
        if (kept && req.resume) void this.chunks.send(t.id, kept.snapshotId, req.resume.missing.slice(0, SNAPSHOT_WINDOW_CHUNKS));
        else void this.sendScopedSnapshot(t.id);
      } else {
        const roster = this.ctx.roster;
        const resumed = req.resume ? roster.snapshotChunks(req.resume.snapshotId, req.resume.missing.slice(0, SNAPSHOT_WINDOW_CHUNKS)) : null;
        this.fire(m.terminalId, resumed ?? roster.snapshot().chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS));
      }
    } else if (m.kind === 'status' && m.payload.length > 0) {
      const status = decodePlain(m.payload, StatusMessageSchema, max);
      if (status.state === 'online') this.checkHistory(m.terminalId, status.health.rosterEpoch ?? null, status.health.rosterVersion);
    }
  }

  /** The first window of a fresh snapshot to one terminal; it asks for the rest window by window. */
  async sendSnapshot(terminalId: string): Promise<void> {
    if (this.ctx.scoped) return this.sendScopedSnapshot(terminalId);
    const chunks = this.ctx.roster.snapshot().chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS);
    await Promise.all(chunks.map((p) => this.ctx.transport.publish(topicsFor(terminalId).roster, p, { retain: false })));
  }

  stop(): Promise<void> {
    this.chunks.stop();
    return Promise.resolve();
  }

  /** The first window of the terminal's snapshot of its scope, queued (per-door rosters); nothing for a terminal not active. */
  private sendScopedSnapshot(terminalId: string): Promise<void> {
    const scoped = this.ctx.scoped;
    const t = scoped?.terminal(terminalId);
    if (!scoped || !t) return Promise.resolve();
    const snap = scoped.snapshot(t, this.ctx.clock.monotonic());
    return this.chunks.send(t.id, snap.snapshotId, Array.from({ length: Math.min(SNAPSHOT_WINDOW_CHUNKS, snap.count) }, (_, i) => i));
  }

  /**
   * A snapshot for a terminal holding `held`. When that epoch is unknown here and not older than the
   * current one (this hub restored from a backup, on a clock behind the one that started that epoch),
   * the terminal would refuse this hub's snapshot as older: a newer epoch is started first.
   */
  private sendSnapshotFor(id: string, held: HeldEpoch | null): void {
    const roster = this.ctx.roster;
    const now = this.ctx.clock.monotonic();
    if (held && !roster.knows(held.id) && held.startedAt >= roster.epoch().startedAt && now - this.lastEpochStartAt >= EPOCH_COOLDOWN_MS) {
      this.lastEpochStartAt = now;
      this.epochs.begin('terminal-newer', held.startedAt + 1);
    }
    if (this.ctx.scoped) void this.sendScopedSnapshot(id);
    else this.fire(id, this.ctx.roster.snapshot().chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS));
  }

  /** An empty or wiped roster (version 0) asks for what it needs itself. */
  private checkHistory(id: string, held: HeldEpoch | null, version: number): void {
    const unscoped = this.ctx.scoped !== null && !this.ctx.scoped.scopedAt(id, version);
    if (version === 0 || (this.ctx.roster.onHistory(held, version) && !unscoped)) return;
    const now = this.ctx.clock.monotonic();
    if (now - (this.offHistorySentAt.get(id) ?? -Infinity) < (this.ctx.options.offHistorySnapshotMs ?? 10 * 60_000)) return;
    this.offHistorySentAt.set(id, now);
    if (unscoped) this.ctx.log.info({ terminal: id, version }, 'terminal roster not yet of its door: sending a snapshot of its scope');
    else this.ctx.log.warn({ terminal: id, version }, 'terminal roster off this hub\'s history: sending a snapshot');
    this.sendSnapshotFor(id, held);
  }

  private fire(terminalId: string, payloads: readonly string[]): void {
    for (const p of payloads) {
      this.ctx.transport.publish(topicsFor(terminalId).roster, p, { retain: false }).catch((err: unknown) => {
        this.ctx.log.warn({ err: String(err) }, 'hub publish failed');
      });
    }
  }
}
