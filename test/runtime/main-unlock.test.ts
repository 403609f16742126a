/**
 * The hub's `unlock` command carried out by a whole terminal (no face models needed: an empty model
 * folder, a fake camera, fake GPIO and a fake clock), through the same handleCommand the sync client
 * calls once a command has been verified.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeFrameSource } from '../../drivers/camera';
import { FakeGpio } from '../../drivers/gpio/fake';
import { FakeClock } from '../../core/clock';
import { startTerminal, type Terminal } from '../../runtime/main';
import { makeSiteDir, terminalConfig } from '../harness/terminal-site';

async function withTerminal(body: (t: Terminal, clock: FakeClock, released: () => boolean) => Promise<void> | void): Promise<void> {
  const site = makeSiteDir('doorway-unlock-');
  const clock = new FakeClock();
  const gpio = new FakeGpio(clock);
  // terminalConfig: fail-secure strike (relay active = released), unlockPulseMs 2000, default maxUnlockMs.
  const config = terminalConfig(site, { modelDir: mkdtempSync(join(tmpdir(), 'no-models-')) });
  const t = await startTerminal({ config, gpio, clock, camera: new FakeFrameSource(clock) });
  try {
    await body(t, clock, () => gpio.out('lock').read());
  } finally {
    await t.stop();
  }
}

describe('remote unlock command', () => {
  it('keeps the door released for the duration the hub asked for, not the face-grant pulse', async () => {
    await withTerminal((t, clock, released) => {
      expect(t.config.lock.unlockPulseMs).toBe(2000);
      t.handleCommand({ type: 'unlock', durationMs: 8000, requestedBy: 'guard-wang' }, { commandId: 'cmd-0000000000000001', issuedAt: clock.now() });
      expect(released()).toBe(true);
      clock.advance(7999);
      expect(released()).toBe(true);
      clock.advance(1);
      expect(released()).toBe(false);
    });
  }, 30_000);

  it('never holds the door released longer than lock.maxUnlockMs, whatever the command asks', async () => {
    await withTerminal((t, clock, released) => {
      expect(t.config.lock.maxUnlockMs).toBe(30_000);
      t.handleCommand({ type: 'unlock', durationMs: 60_000, requestedBy: 'guard-wang' }, { commandId: 'cmd-0000000000000001', issuedAt: clock.now() });
      clock.advance(29_999);
      expect(released()).toBe(true);
      clock.advance(1);
      expect(released()).toBe(false);
      expect(t.lock.getState().state).toBe('locked');
    });
  }, 30_000);
});
