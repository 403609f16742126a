/**
 * A terminal's sync side from its bundle (`provision terminal add`), shared by the benches that run
 * terminals without a camera (bench/hub/terminal.ts, bench/community/worker.ts): the terminal's own real
 * parts (runtime/main.ts `realParts`: the sync file, the encrypted roster, the MQTT link with the
 * bundle's certificate and the pinned hub key), its event recorder owning the outbox, and the
 * SyncClient wired as the Terminal wires it. No camera, no models, no GPIO; the 1:N matcher that
 * follows the roster only when asked for (it holds every template in memory).
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { FakeGpio } from '../../drivers/gpio/fake';
import { loadConfig, type Config } from '../../runtime/config';
import { realParts } from '../../runtime/main';
import { SyncClient } from '../../runtime/sync/client';
import { EventRecorder } from '../../runtime/terminal/events';
import type { TerminalMatcher, TerminalRoster } from '../../runtime/terminal/parts';
import { MODEL_ID } from './community';

export interface SyncTerminal {
  config: Config;
  sync: SyncClient;
  roster: TerminalRoster;
  /** The terminal's event recorder: what the decision path records goes through it into the outbox. */
  recorder: EventRecorder;
  matcher: TerminalMatcher | null;
  /** Stops the sync client and closes the files. */
  close(): Promise<void>;
}

/** Opens the terminal of `configFile` (its bundle's terminal.json); `start()` its `sync` to connect. */
export function openSyncTerminal(configFile: string, o: { clock: Clock; log: Logger; matcher?: boolean; software?: string }): SyncTerminal {
  const config = loadConfig(configFile);
  const { clock, log } = o;
  const parts = realParts(config, clock, log, new FakeGpio(clock));
  const events = parts.openEventStore();
  const roster = parts.openRoster();
  const matcher = o.matcher ? parts.matcherFor(roster, MODEL_ID) : null;
  const recorder = new EventRecorder({ clock, log, capacity: config.events.outboxCapacity, memoryCapacity: config.events.memoryCapacity });
  recorder.useStore(events.db);
  const link = parts.hubLink(events, roster);
  if (!link?.rosterSink || !recorder.outbox) throw new Error(`the bundle of ${config.terminalId} has no hub link or no outbox`);
  const sync = new SyncClient({
    terminalId: config.terminalId,
    transport: link.transport,
    clock,
    log,
    db: events.db,
    outbox: recorder.outbox,
    ...(link.stagingKey ? { stagingKey: link.stagingKey } : {}),
    // Per-door rosters come sealed to the terminal's roster key (its bundle's roster.key).
    ...(link.rosterKey ? { rosterKey: link.rosterKey } : {}),
    hubPublicKey: link.hubPublicKey,
    roster: { sink: link.rosterSink, batchSchema: link.batchSchema, itemSchema: link.itemSchema },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: o.software ?? 'bench', model: MODEL_ID },
    timing: { heartbeatMs: config.hub?.heartbeatMs ?? 30_000 },
  });
  return {
    config,
    sync,
    roster,
    recorder,
    matcher,
    close: async () => {
      await sync.stop();
      matcher?.close();
      roster.close();
      events.db.close();
    },
  };
}
