/**
 * The door of a whole terminal built by runtime/main.ts (real roster and sync files, fake GPIO with
 * buzzer and LED, a fake camera, a fake clock; no face models needed): every release is recorded,
 * remote unlocks are rate-limited, the resident gets feedback, a relay fault is recorded.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { FakeFrameSource } from '../../drivers/camera';
import { FakeGpio } from '../../drivers/gpio/fake';
import { startTerminal, type Terminal } from '../../runtime/main';
import type { Command } from '../../runtime/protocol/schemas';
import { makeSiteDir, terminalConfig, type SiteDir } from '../harness/terminal-site';

interface Door {
  t: Terminal;
  clock: FakeClock;
  gpio: FakeGpio;
  site: SiteDir;
  /** Events in the outbox, in order. */
  events(): { type: string; [k: string]: unknown }[];
  unlock(n: number): void;
}

async function withDoor(body: (d: Door) => Promise<void> | void): Promise<void> {
  const site = makeSiteDir('doorway-door-');
  const clock = new FakeClock();
  const gpio = new FakeGpio(clock);
  const config = terminalConfig(site, { modelDir: mkdtempSync(join(tmpdir(), 'no-models-')) });
  config.gpio.outputs.buzzer = { line: 27, activeLow: false };
  config.gpio.outputs.led = { line: 22, activeLow: false };
  const t = await startTerminal({ config, gpio, clock, camera: new FakeFrameSource(clock), logger: silentLogger() });
  const events = (): { type: string }[] => {
    const db = new Database(join(site.dataDir, 'sync.db'), { readonly: true });
    try {
      return (db.prepare('SELECT body FROM outbox ORDER BY seq').all() as { body: string }[]).map((r) => JSON.parse(r.body) as { type: string });
    } finally {
      db.close();
    }
  };
  const unlock = (n: number): void => {
    const c: Command = { type: 'unlock', durationMs: 1000, requestedBy: 'guard-wang' };
    t.handleCommand(c, { commandId: `cmd-${String(n).padStart(16, '0')}`, issuedAt: clock.now() });
  };
  try {
    await body({ t, clock, gpio, site, events, unlock });
  } finally {
    await t.stop();
  }
}

describe('the door of a terminal', () => {
  it('records every release for the hub: exit button, remote unlock (command id and operator) and fire', async () => {
    await withDoor((d) => {
      d.gpio.set('exit', 'pressed');
      d.gpio.set('exit', false);
      d.clock.advance(2000);
      d.unlock(1);
      d.clock.advance(1000);
      d.gpio.set('fire', 'alarm');
      const released = d.events().filter((e) => e.type === 'door.released');
      expect(released.map((e) => [e['source'], e['commandId'], e['requestedBy']])).toEqual([
        ['exit-button', null, null],
        ['remote', 'cmd-0000000000000001', 'guard-wang'],
        ['fire', null, null],
      ]);
    });
  }, 30_000);

  it('carries out at most remoteUnlock.max remote unlocks per window, records the refused one, and takes one again once the window has passed', async () => {
    await withDoor((d) => {
      const [max, windowMs] = [6, 60_000]; // the defaults (checked at the end)
      for (let i = 1; i <= max; i++) {
        d.unlock(i);
        d.clock.advance(1000); // each release ends before the next
      }
      const before = d.gpio.out('lock').writes.length;
      d.unlock(max + 1);
      expect(d.gpio.out('lock').writes.length).toBe(before); // nothing driven
      expect(d.events().filter((e) => e.type === 'unlock.refused')).toEqual([
        expect.objectContaining({ commandId: `cmd-${String(max + 1).padStart(16, '0')}`, requestedBy: 'guard-wang', reason: 'rate-limited' }),
      ]);
      d.clock.advance(windowMs - max * 1000);
      d.unlock(max + 2);
      expect(d.gpio.out('lock').read()).toBe(true); // fail-secure strike released
      expect(d.t.config.remoteUnlock).toEqual({ max, windowMs });
    });
  }, 30_000);

  it('lights the LED while the door is released and beeps for a remote unlock', async () => {
    await withDoor((d) => {
      const led = d.gpio.out('led');
      const buzzer = d.gpio.out('buzzer');
      d.gpio.set('exit', 'pressed');
      expect(led.read()).toBe(true);
      d.clock.advance(d.t.config.lock.unlockPulseMs);
      expect(led.read()).toBe(false);
      d.unlock(1);
      expect(buzzer.read()).toBe(true);
      d.clock.advance(d.t.config.feedback.grantBeepMs);
      expect(buzzer.read()).toBe(false);
    });
  }, 30_000);

  it('records a relock that fails as a relay-fault alarm and never says locked while the strike is energised', async () => {
    await withDoor((d) => {
      d.gpio.set('exit', 'pressed');
      d.gpio.out('lock').failWrites(Infinity);
      d.clock.advance(d.t.config.lock.unlockPulseMs);
      expect(d.gpio.out('lock').read()).toBe(true);
      expect(d.t.lock.getState().state).not.toBe('locked');
      expect(d.events().filter((e) => e.type === 'alarm.relay-fault')).toEqual([expect.objectContaining({ state: 'active', intended: 'locked' })]);
      expect(d.t.faults()).toContain('relay-fault');
    });
  }, 30_000);
});
