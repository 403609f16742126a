/**
 * One worker process of `npm run bench:community`: a group of terminals, each a real protocol client of
 * its own (bench/hub/sync-terminal.ts: its bundle's files, certificate, MQTT connection, sync client,
 * encrypted roster and outbox), in one Node process because 200 Node processes of this size do not fit
 * on the bench machine. No camera, no models: the bench asks for entries and this process records them
 * through each terminal's event recorder as its frame loop would (`loopEventRecords`).
 *
 * Talks to the bench over IPC (./messages.ts). `at` in every answer is this machine's wall clock in ms
 * with sub-ms resolution, taken here the moment the terminal's store was seen to hold the change.
 * Usage (by bench/community.ts): node --import tsx bench/community/worker.ts BUNDLE/terminal.json...
 */
import { SystemClock } from '../../core/clock';
import { createLogger } from '../../core/log';
import { loopEventRecords } from '../../runtime/terminal/events';
import { rng } from '../../test/fixtures/random';
import { openSyncTerminal, type SyncTerminal } from '../hub/sync-terminal';
import { bytesUnder, type ToBench, type ToWorker } from './messages';

const files = process.argv.slice(2);
if (files.length === 0 || !process.send) throw new Error('usage: started by bench/community.ts with an IPC channel and terminal.json paths');
const send = (m: ToBench): void => void process.send?.(m);
const wallNow = (): number => performance.timeOrigin + performance.now();

const clock = new SystemClock();
const log = createLogger({ level: 'warn' }).child({ module: 'bench-community-worker' });

interface Door {
  t: SyncTerminal;
  id: string;
  /** Persons waiting to leave this door's roster (revoked). */
  gone: Set<string>;
  /** Persons waiting to arrive (approved). */
  seen: Set<string>;
  /** Persons waiting to carry a tag: person id -> tag. */
  tagged: Map<string, string>;
}

const doors: Door[] = files.map((f) => {
  const t = openSyncTerminal(f, { clock, log, software: 'bench-community' });
  return { t, id: t.config.terminalId, gone: new Set(), seen: new Set(), tagged: new Map() };
});

function look(d: Door): void {
  for (const id of d.gone) {
    if (d.t.roster.getPerson(id)?.status === 'active') continue;
    d.gone.delete(id);
    send({ type: 'gone', terminal: d.id, id, at: wallNow() });
  }
  for (const id of d.seen) {
    if (d.t.roster.getPerson(id)?.status !== 'active') continue;
    d.seen.delete(id);
    send({ type: 'seen', terminal: d.id, id, at: wallNow() });
  }
  for (const [id, tag] of d.tagged) {
    if (!d.t.roster.getPerson(id)?.tags.includes(tag)) continue;
    d.tagged.delete(id);
    send({ type: 'tagged', terminal: d.id, id, at: wallNow() });
  }
}

for (const d of doors) {
  d.t.sync.on('roster-applied', (a) => {
    look(d);
    send({ type: 'roster', terminal: d.id, version: a.version });
  });
}

// --- entries: each door's arrivals as a Poisson process at `perSecond`, recorded as the frame loop would ---
let entryTimer: NodeJS.Timeout | null = null;
function startEntries(perSecond: number, durationMs: number, persons: readonly string[], seed: number): void {
  const r = rng(seed);
  const exp = (): number => -Math.log(1 - Math.min(r(), 1 - 1e-12)) * (1000 / perSecond);
  const start = performance.now();
  const next = doors.map(() => start + exp());
  let recorded = 0;
  const tick = (): void => {
    const now = performance.now();
    doors.forEach((d, i) => {
      while ((next[i] ?? Infinity) <= now && (next[i] ?? Infinity) < start + durationMs) {
        const personId = persons[Math.floor(r() * persons.length)] ?? 'p-000001';
        const at = clock.now();
        const decision = { kind: 'grant' as const, personId, reason: 'authorised' as const, match: { personId, score: 0.6 + r() * 0.3, margin: 0.3 }, alerts: [] };
        const liveness = { verdict: 'live' as const, score: 0.9, reasons: ['fast-path'] };
        for (const b of loopEventRecords({ type: 'decision', at, trackId: recorded, decision, latencyMs: 250 + r() * 200, frames: 4, liveness, lock: 'unlocked' }, d.t.config.door.doorId, 3000)) {
          d.t.recorder.record(b, at);
        }
        recorded += 1;
        next[i] = (next[i] ?? now) + exp();
      }
    });
    if (now >= start + durationMs) {
      entryTimer = null;
      send({ type: 'entries-done', recorded });
      return;
    }
    entryTimer = setTimeout(tick, 20);
  };
  tick();
}

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'watch-gone': {
      const held = doors.filter((d) => d.t.roster.getPerson(m.id)?.status === 'active');
      for (const d of held) d.gone.add(m.id);
      send({ type: 'watching', id: m.id, held: held.map((d) => d.id) });
      return;
    }
    case 'watch-seen':
      for (const d of doors) {
        d.seen.add(m.id);
        look(d);
      }
      return;
    case 'watch-tag':
      for (const d of doors) {
        d.tagged.set(m.id, m.tag);
        look(d);
      }
      return;
    case 'entries':
      startEntries(m.perSecond, m.durationMs, m.persons, m.seed);
      return;
    case 'sample':
      send({ type: 'depths', seq: m.seq, depths: doors.map((d) => d.t.sync.outbox.depth()) });
      return;
    case 'disk':
      send({ type: 'disk', bytes: doors.map((d) => ({ terminal: d.id, bytes: bytesUnder(d.t.config.paths.dataDir) })) });
      return;
    case 'stop':
      void stop();
      return;
  }
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (entryTimer) clearTimeout(entryTimer);
  await Promise.all(doors.map((d) => d.t.close()));
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('disconnect', () => void stop());

for (const d of doors) d.t.sync.start();
send({ type: 'opened', terminals: doors.map((d) => d.id) });
