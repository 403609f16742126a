/**
 * A wipe on a whole terminal does not hold the event loop: a fire-alarm edge delivered while it erases
 * (a GPIO callback, as the real driver delivers edges from the loop) releases the door at once. Real
 * encrypted roster and outbox files, fake GPIO; no face models (they are not needed for the wipe).
 */
// ARM64 CI run (scripts/arm64/README.md, boundary mode): better-sqlite3 reads counts back here; the roster's wipe (batches that yield to the event
// loop included) and a whole terminal on its real roster and sync files are proven on ARM64 by the files named below.
// arm64 boundary: covered by test/runtime/roster/wipe.test.ts, test/runtime/roster/store.test.ts, test/runtime/main-door.test.ts
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGpio } from '../../drivers/gpio/fake';
import { SystemClock } from '../../core/clock';
import { startTerminal } from '../../runtime/main';
import { person, rng, unitVector } from './roster/fixtures';
import { makeSiteDir, terminalConfig, writeRoster } from '../harness/terminal-site';

function count(file: string, sql: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

it('releases the door for a fire alarm raised just after a large wipe starts, before the wipe has finished, and reports the wipe with its counts', async () => {
  const site = makeSiteDir();
  const rand = rng(5);
  writeRoster(site, Array.from({ length: 1500 }, (_, i) => person(`p-${i}`, [unitVector(rand), unitVector(rand)])));
  const rosterDb = join(site.dataDir, 'roster.db');
  const clock = new SystemClock();
  const gpio = new FakeGpio(clock);
  const t = await startTerminal({ config: terminalConfig(site, { modelDir: mkdtempSync(join(tmpdir(), 'no-models-')) }), gpio, clock });
  try {
    expect(t.lock.getState().state).toBe('locked');
    const seen: { what: string; personsLeft: number; relayReleased?: boolean }[] = [];
    const wiping = t.wipe().then(() => seen.push({ what: 'wipe done', personsLeft: count(rosterDb, 'SELECT COUNT(*) AS n FROM person') }));
    // The edge as the real driver delivers it: a callback on the next turn of the event loop.
    setImmediate(() => {
      gpio.set('fire', 'alarm');
      seen.push({
        what: 'fire edge',
        personsLeft: count(rosterDb, 'SELECT COUNT(*) AS n FROM person'),
        relayReleased: gpio.out('lock').writes.at(-1)?.active === true,
      });
    });
    await wiping;

    expect(seen.map((s) => s.what)).toEqual(['fire edge', 'wipe done']);
    // The door was released while rows were still being erased...
    expect(seen[0]).toMatchObject({ relayReleased: true });
    expect(seen[0]!.personsLeft).toBeGreaterThan(0);
    expect(t.lock.getState().state).toBe('fire-release');
    // ...and the wipe went on to the end.
    expect(seen[1]).toMatchObject({ personsLeft: 0 });
  } finally {
    await t.stop();
  }
  const events = (() => {
    const db = new Database(join(site.dataDir, 'sync.db'), { readonly: true });
    try {
      return (db.prepare('SELECT body FROM outbox ORDER BY seq').all() as { body: string }[]).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    } finally {
      db.close();
    }
  })();
  expect(events.find((e) => e.type === 'terminal.wiped')).toMatchObject({ outcome: 'erased', persons: 1500, templates: 3000 });
}, 60_000);
