/**
 * The Terminal on a fake clock without models (test/harness/fake-terminal.ts): fake GPIO, camera,
 * face analyser and MQTT transport; real encrypted roster, matcher and sync file.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { updateStateDir } from '../../../runtime/config';
import type { LoopEvent } from '../../../runtime/loop/door-loop';
import { WrongKeyError } from '../../../runtime/roster/store';
import { topicsFor } from '../../../runtime/protocol/topics';
import { UpdateReports, UpdateStateStore, type UpdateOutcomeEvent } from '../../../runtime/update/state';
import { UpdateLink } from '../../../runtime/update/terminal-link';
import { tempDir } from '../../harness/update';
import { person, rng, unitVector } from '../roster/fixtures';
import { startFakeTerminal, type FakeTerminal } from '../../harness/fake-terminal';

const rand = rng(14);
const ana = unitVector(rand);
const stranger = unitVector(rand);
const ANA = person('p-ana', [ana]);
/** Ana as the door sees her some years after her enrolment: 0.85 against her enrolled template. */
const anaNow = (() => {
  const v = ana.map((x, i) => 0.85 * x + Math.sqrt(1 - 0.85 ** 2) * (stranger[i] as number));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
})();

let ft: FakeTerminal | null = null;
afterEach(async () => {
  await ft?.stop();
  ft = null;
});

async function start(...args: Parameters<typeof startFakeTerminal>): Promise<FakeTerminal> {
  ft = await startFakeTerminal(...args);
  return ft;
}

/** Levels an output went through, as [ms since `from`, level]. */
function levels(f: FakeTerminal, name: 'buzzer' | 'led', from: number): [number, boolean][] {
  return f.gpio.out(name).writes.filter((w) => w.at >= from).map((w) => [w.at - from, w.active]);
}

describe('face decisions', () => {
  it('releases the door for an enrolled resident, beeps once, and records the entry and the release with the person', async () => {
    const f = await start({ roster: [ANA], hub: false });
    const from = f.clock.monotonic();
    await f.passage(ana);
    expect(f.t.lock.getState().state).toBe('unlocked'); // fail-secure strike, pulse 2000 ms
    const released = f.stored().filter((e) => e.type === 'door.released');
    expect(released).toEqual([expect.objectContaining({ source: 'face', personId: 'p-ana', commandId: null, requestedBy: null, durationMs: 2000 })]);
    expect(f.stored().find((e) => e.type === 'entry.granted')).toMatchObject({ personId: 'p-ana', credential: 'face' });
    const beep = levels(f, 'buzzer', from);
    expect(beep).toHaveLength(2);
    expect(beep[1]![0] - beep[0]![0]).toBe(f.config.feedback.grantBeepMs);
    expect(beep.map(([, on]) => on)).toEqual([true, false]);
    // The LED is lit while the door is released.
    expect(f.gpio.out('led').read()).toBe(true);
    await f.run(2000);
    expect(f.gpio.out('led').read()).toBe(false);
  });

  it('refuses a stranger with two short beeps and three LED blinks, and releases nothing', async () => {
    const f = await start({ roster: [ANA], hub: false });
    f.facing.embedding = stranger;
    for (let i = 0; i < 3; i++) {
      f.camera.push();
      await f.run(40);
    }
    f.facing.embedding = null;
    // The decision comes when the track ends (unknown is not final): the tones start then.
    const buzzer = f.gpio.out('buzzer');
    const led = f.gpio.out('led');
    for (let i = 0; i < 200 && buzzer.writes.length === 0; i++) {
      f.camera.push();
      await f.run(10, 10);
    }
    const began = buzzer.writes[0]!.at;
    const tone = f.config.feedback.denyToneMs;
    await f.run(tone - 1, 1);
    expect(buzzer.read()).toBe(true);
    expect(led.read()).toBe(true);
    await f.run(1, 1);
    expect(buzzer.read()).toBe(false);
    await f.run(10 * tone);
    expect(levels(f, 'buzzer', began)).toEqual([[0, true], [tone, false], [2 * tone, true], [3 * tone, false]]);
    expect(levels(f, 'led', began)).toEqual([[0, true], [tone, false], [2 * tone, true], [3 * tone, false], [4 * tone, true], [5 * tone, false]]);
    expect(f.stored().find((e) => e.type === 'entry.denied')).toMatchObject({ reason: 'unknown' });
    expect(f.stored().filter((e) => e.type === 'door.released')).toEqual([]);
    expect(f.gpio.out('lock').writes.some((w) => w.active)).toBe(false);
  });
});

describe('template adaptation', () => {
  const granted = (f: FakeTerminal): Extract<LoopEvent, { type: 'decision' }>[] =>
    f.notices.flatMap((n) => (n.kind === 'loop' && n.event.type === 'decision' && n.event.decision.kind === 'grant' ? [n.event] : []));

  it("learns from a granted passage: the resident's next passage matches the template the door learnt from her", async () => {
    const f = await start({ roster: [ANA], hub: false });
    await f.passage(anaNow);
    await f.run(3000);
    await f.passage(anaNow);
    const scores = granted(f).map((d) => d.decision.match?.score ?? 0);
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeLessThan(0.9); // her enrolled template
    expect(scores[1]).toBeCloseTo(1, 4); // the one learnt from her first passage
  });

  it('learns nothing with adaptation switched off', async () => {
    const f = await start({ roster: [ANA], hub: false, config: (c) => (c.adaptation.enabled = false) });
    await f.passage(anaNow);
    await f.run(3000);
    await f.passage(anaNow);
    const scores = granted(f).map((d) => d.decision.match?.score ?? 0);
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeLessThan(0.9);
    expect(scores[1]).toBe(scores[0]);
  });
});

describe('the update agent', () => {
  const reports = [1, 2].map((n): UpdateOutcomeEvent => ({ id: ulid(1000 + n), at: 1000 + n, type: 'update.outcome', outcome: 'committed', version: '0.2.0', running: '0.2.0', reason: null, detail: null }));
  const report = (n: 1 | 2): UpdateOutcomeEvent => reports[n - 1] as UpdateOutcomeEvent;

  it("moves the agent's reports into the outbox at start and every update.reportPollMs, and names the installed bundle in the heartbeat", async () => {
    const f = await start({
      roster: [ANA],
      config: (c) => {
        new UpdateReports(join(updateStateDir(c), 'reports')).write(report(1));
        new UpdateStateStore(updateStateDir(c)).write({ v: 1, slots: { a: { version: '0.2.0', embedModel: null, installedAt: 0 }, b: null }, committed: 'a', trial: null, last: { outcome: 'committed', version: '0.2.0', reason: null, detail: null, at: 5 } });
      },
    });
    const folder = new UpdateReports(join(updateStateDir(f.config), 'reports'));
    expect(f.stored().filter((e) => e.type === 'update.outcome').map((e) => e.id)).toEqual([report(1).id]);
    expect(folder.pending()).toEqual([]);
    folder.write(report(2));
    await f.run(f.config.update.reportPollMs - 10);
    expect(f.stored().filter((e) => e.type === 'update.outcome')).toHaveLength(1);
    await f.run(10);
    expect(f.stored().filter((e) => e.type === 'update.outcome').map((e) => e.id)).toEqual([report(1).id, report(2).id]);
    f.transport.connect(false);
    await f.run(10);
    const status = f.transport.on(topicsFor(f.config.terminalId).status).at(-1) as { health: { update?: unknown } };
    expect(status.health.update).toEqual({ version: null, slot: null, state: 'committed' });
  });

  it('leaves a report where the agent put it while the outbox cannot take it', async () => {
    let dir = '';
    const unreadable = `${ulid(500)}.json`; // read before the report: it shows the folder was read
    const f = await start({
      roster: [ANA],
      config: (c) => {
        dir = join(updateStateDir(c), 'reports');
        new UpdateReports(dir).write(report(1));
        writeFileSync(join(dir, unreadable), '{');
      },
      parts: {
        openEventStore: () => {
          throw Object.assign(new Error('read-only file system'), { code: 'SQLITE_READONLY' });
        },
      },
    });
    await f.run(f.config.update.reportPollMs);
    expect(existsSync(join(dir, unreadable))).toBe(false);
    expect(existsSync(join(dir, `${report(1).id}.json`))).toBe(true);
  });

  it('tells the update agent on /healthz that the frame loop runs and whether the door is busy', async () => {
    const f = await start({ roster: [ANA], hub: false });
    f.camera.push();
    await f.run(40);
    expect(await f.healthz()).toMatchObject({ loopRunning: true, door: { lock: 'locked', doorOpen: false, passage: false }, reenrolment: 0 });
    f.facing.embedding = stranger;
    f.camera.push();
    await f.run(40);
    expect((await f.healthz())['door']).toEqual({ lock: 'locked', doorOpen: false, passage: true });
  });

  it("starts the update agent on the bundle a signed `update` command offers, and refuses an offer whose URL is not the hub's bundle path", async () => {
    const launched: string[] = [];
    const f = await start({
      roster: [ANA],
      parts: { updateLink: () => new UpdateLink(tempDir('state'), tempDir('root'), { launch: (url) => (launched.push(url), Promise.resolve()) }) },
    });
    f.transport.connect(false);
    await f.run(10);
    const url = 'https://hub.example:8443/updates/doorway-0.2.0.bundle';
    f.transport.deliver(topicsFor(f.config.terminalId).commands, f.command({ type: 'update', version: '0.2.0', url }).payload);
    await f.run(10);
    expect(launched).toEqual([url]);
    // the hub's key signs only what the protocol allows: another path is refused before it reaches the agent
    const bad = f.command({ type: 'update', version: '0.2.0', url: 'https://hub.example/../etc/passwd' } as never).payload;
    f.transport.deliver(topicsFor(f.config.terminalId).commands, bad);
    await f.run(10);
    expect(launched).toEqual([url]);
  });
});

describe('every release of the door reaches the hub', () => {
  it('records the exit button and the fire alarm as releases and publishes them to the hub', async () => {
    const f = await start({ roster: [ANA] });
    f.transport.connect(false);
    await f.run(10);
    f.gpio.set('exit', 'pressed');
    await f.run(10);
    f.gpio.set('exit', false);
    await f.run(2000);
    f.gpio.set('fire', 'alarm');
    await f.run(10);
    const published = f.published();
    expect(published.filter((e) => e.type === 'door.released').map((e) => (e.type === 'door.released' ? [e.source, e.durationMs] : null))).toEqual([
      ['exit-button', 2000],
      ['fire', null],
    ]);
    expect(published.find((e) => e.type === 'alarm.fire')).toMatchObject({ state: 'active' });
    expect(f.t.lock.getState().state).toBe('fire-release');
  });

  it('carries out a remote unlock and records it with the command id and the operator who asked', async () => {
    const f = await start({ roster: [ANA] });
    f.transport.connect(false);
    await f.run(10);
    const from = f.clock.monotonic();
    const { payload, body } = f.command({ type: 'unlock', durationMs: 8000, requestedBy: 'guard-wang' });
    f.transport.deliver(topicsFor(f.config.terminalId).commands, payload);
    await f.run(10);
    expect(f.gpio.out('lock').read()).toBe(true); // strike released
    expect(f.published().filter((e) => e.type === 'door.released')).toEqual([
      expect.objectContaining({ source: 'remote', commandId: body.nonce, requestedBy: 'guard-wang', durationMs: 8000, personId: null }),
    ]);
    // Whoever stands at the door hears it open.
    await f.run(f.config.feedback.grantBeepMs);
    expect(levels(f, 'buzzer', from).map(([, on]) => on)).toEqual([true, false]);
  });

  it('refuses remote unlocks beyond remoteUnlock.max per window, records each refusal, and takes them again once the window has passed', async () => {
    const f = await start({ roster: [ANA], config: (c) => (c.remoteUnlock = { max: 2, windowMs: 10_000 }) });
    f.transport.connect(false);
    await f.run(10);
    const topic = topicsFor(f.config.terminalId).commands;
    const unlock = (): string => {
      const { payload, body } = f.command({ type: 'unlock', durationMs: 1000, requestedBy: 'guard-wang' });
      f.transport.deliver(topic, payload);
      return body.nonce;
    };
    const first = f.clock.monotonic();
    unlock();
    await f.run(1500);
    unlock();
    await f.run(1500);
    const refused = unlock();
    await f.run(10);
    expect(f.published().filter((e) => e.type === 'door.released')).toHaveLength(2);
    expect(f.published().filter((e) => e.type === 'unlock.refused')).toEqual([
      expect.objectContaining({ commandId: refused, requestedBy: 'guard-wang', reason: 'rate-limited' }),
    ]);
    expect(f.gpio.out('lock').read()).toBe(false);
    // 1 ms before the first unlock leaves the window: still refused; at that moment: carried out.
    await f.run(first + 10_000 - 1 - f.clock.monotonic(), 1);
    unlock();
    await f.run(1, 1);
    expect(f.published().filter((e) => e.type === 'unlock.refused')).toHaveLength(2);
    unlock();
    await f.run(10);
    expect(f.published().filter((e) => e.type === 'door.released')).toHaveLength(3);
    expect(f.gpio.out('lock').read()).toBe(true);
  });

  it('records a remote unlock the fire alarm makes pointless as refused (held-by-fire)', async () => {
    const f = await start({ roster: [ANA] });
    f.transport.connect(false);
    f.gpio.set('fire', 'alarm');
    await f.run(10);
    const { payload, body } = f.command({ type: 'unlock', durationMs: 1000, requestedBy: 'guard-wang' });
    f.transport.deliver(topicsFor(f.config.terminalId).commands, payload);
    await f.run(10);
    expect(f.published().find((e) => e.type === 'unlock.refused')).toMatchObject({ commandId: body.nonce, reason: 'held-by-fire' });
  });
});

describe('relay faults', () => {
  it('reports a relock that keeps failing as a relay-fault alarm to the hub, in /healthz and in the heartbeat, sounds the alarm, and clears all of it once the relay reads back locked', async () => {
    const f = await start({ roster: [ANA] });
    f.transport.connect(false);
    await f.run(10);
    f.gpio.set('exit', 'pressed');
    await f.run(10);
    f.gpio.set('exit', false);
    f.gpio.out('lock').failWrites(Infinity);
    const pulseEnd = f.clock.monotonic() + 2000 - 10;
    await f.run(2000);
    expect(f.gpio.out('lock').read()).toBe(true); // strike still energised: released
    expect(f.t.lock.getState().state).toBe('relay-fault');
    expect(f.published().filter((e) => e.type === 'alarm.relay-fault')).toEqual([expect.objectContaining({ state: 'active', intended: 'locked' })]);
    const h = await f.healthz();
    expect(h).toMatchObject({ ok: false, mode: 'degraded', faults: ['relay-fault'], lockOk: false });
    expect(h.problems).toContain('relay-fault');
    // The heartbeat says so at once, not at the next period.
    const status = f.transport.on(topicsFor(f.config.terminalId).status).at(-1) as { health: { faults: string[] } };
    expect(status.health.faults).toEqual(['relay-fault']);
    // The buzzer sounds the alarm pattern meanwhile.
    await f.run(f.config.feedback.alarmOnMs + f.config.feedback.alarmOffMs);
    const buzz = levels(f, 'buzzer', pulseEnd);
    expect(buzz.slice(0, 3).map(([, on]) => on)).toEqual([true, false, true]);
    expect(buzz[1]![0] - buzz[0]![0]).toBe(f.config.feedback.alarmOnMs);

    f.gpio.out('lock').failWrites(0);
    await f.run(f.config.lock.relayRetryMs);
    expect(f.gpio.out('lock').read()).toBe(false);
    expect(f.t.lock.getState().state).toBe('locked');
    expect(f.published().filter((e) => e.type === 'alarm.relay-fault').map((e) => (e.type === 'alarm.relay-fault' ? e.state : null))).toEqual(['active', 'cleared']);
    expect((await f.healthz()).faults).toEqual([]);
    expect(f.gpio.out('buzzer').read()).toBe(false);
  });
});

describe('degraded mode', () => {
  it('runs without a roster: no face decisions, the door locked, exit button, fire release and remote unlock working, the fault in /healthz and at the hub', async () => {
    let facesLoaded = false;
    const f = await start({
      roster: [ANA],
      parts: {
        openRoster: () => {
          throw new WrongKeyError();
        },
        loadFaces: () => {
          facesLoaded = true;
          return Promise.reject(new Error('not expected'));
        },
      },
    });
    expect(facesLoaded).toBe(false);
    expect(f.t.lock.getState().state).toBe('locked');
    const h = await f.healthz();
    expect(h).toMatchObject({ ok: false, mode: 'degraded', faults: ['roster-wrong-key'], rosterLoaded: false, lockOk: true });
    // Ana stands at the door: nobody decides, nothing opens.
    await f.passage(ana);
    expect(f.notices.filter((n) => n.kind === 'loop')).toEqual([]);
    expect(f.gpio.out('lock').writes.some((w) => w.active)).toBe(false);
    // The hub hears of the fault once connected; the exit button and a remote unlock still open the door.
    f.transport.connect(false);
    await f.run(10);
    expect(f.published().filter((e) => e.type === 'terminal.fault')).toEqual([expect.objectContaining({ code: 'roster-wrong-key', state: 'raised' })]);
    f.gpio.set('exit', 'pressed');
    await f.run(10);
    expect(f.t.lock.getState().state).toBe('unlocked');
    f.gpio.set('exit', false);
    await f.run(2000);
    expect(f.t.lock.getState().state).toBe('locked');
    const { payload } = f.command({ type: 'unlock', durationMs: 1000, requestedBy: 'guard-wang' });
    f.transport.deliver(topicsFor(f.config.terminalId).commands, payload);
    await f.run(10);
    expect(f.t.lock.getState().state).toBe('unlocked');
    expect(f.published().filter((e) => e.type === 'door.released').map((e) => (e.type === 'door.released' ? e.source : null))).toEqual(['exit-button', 'remote']);
    // Roster data cannot be applied: it is refused, and none is asked for.
    expect(f.transport.on(topicsFor(f.config.terminalId).requests)).toEqual([]);
    await f.run(1000);
    f.gpio.set('fire', 'alarm');
    await f.run(10);
    expect(f.t.lock.getState().state).toBe('fire-release');
  });

  it('keeps events in memory when the sync file cannot be opened, and says so', async () => {
    const f = await start({
      roster: [ANA],
      parts: {
        openEventStore: () => {
          throw Object.assign(new Error('read-only file system'), { code: 'SQLITE_READONLY' });
        },
      },
    });
    const h = await f.healthz();
    // Pass uses are counted in the sync file: without it a single-use pass could be used again, so passes are shut too.
    expect(h).toMatchObject({ mode: 'degraded', faults: ['event-store-unavailable', 'passes-unavailable'], hubConnected: false });
    f.gpio.set('exit', 'pressed');
    await f.run(10);
    expect(f.t.lock.getState().state).toBe('unlocked');
    // Face decisions do not need the sync file.
    f.gpio.set('exit', false);
    await f.run(2000);
    await f.passage(ana);
    expect(f.notices.some((n) => n.kind === 'loop' && n.event.type === 'decision' && n.event.decision.kind === 'grant')).toBe(true);
  });
});

describe('supervision', () => {
  it('exits with status 70 when the loop is stuck while frames keep arriving, checked every health.stallCheckMs', async () => {
    const f = await start({
      roster: [ANA],
      hub: false,
      config: (c) => {
        c.health.stallExitMs = 2000;
        c.health.stallCheckMs = 500;
      },
      parts: {
        loadFaces: () => Promise.resolve({ modelId: 'm', process: () => new Promise(() => {}), close: () => Promise.resolve() }),
      },
    });
    const t0 = f.clock.monotonic();
    f.camera.push();
    // Frames keep coming while the one pipeline run never returns.
    for (let at = 0; at < 2499; at += 100) {
      await f.run(Math.min(100, 2499 - at), 50);
      f.camera.push();
    }
    expect(f.clock.monotonic() - t0).toBe(2499);
    expect(f.exits).toEqual([]);
    await f.run(1, 1);
    expect(f.exits).toEqual([70]);
    expect(f.t.lock.getState().state).toBe('stopped');
  });
});
