import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig, updateStateDir } from '../../runtime/config';
import { DEFAULT_MATCH_THRESHOLD } from '../../models/thresholds';
import { isId } from '../../runtime/protocol/ids';
import { nastyId } from '../fixtures/ids';

const minimal = {
  terminalId: 'gate-3-t1',
  door: { doorId: 'gate-3', buildingId: 'b-12', timeZone: 'Asia/Shanghai' },
  camera: { kind: 'rtsp', url: 'rtsp://127.0.0.1:8554/cam' },
  gpio: { outputs: { lock: { line: 17 } } },
  lock: { lockType: 'fail-safe' },
  paths: { dataDir: 'data', secretFile: 'keys/device.secret' },
};

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, 'terminal.json', '/etc/doorway');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('config was accepted');
}

describe('terminal config', () => {
  it('fills every default of a minimal file and resolves paths against the config folder', () => {
    const c = parseConfig(minimal, 'terminal.json', '/etc/doorway');
    expect(c.paths.dataDir).toBe('/etc/doorway/data');
    expect(c.paths.secretFile).toBe('/etc/doorway/keys/device.secret');
    expect(c.decision.match).toBe(DEFAULT_MATCH_THRESHOLD);
    expect(c.evidence).toEqual({ minFrames: 3, maxFrames: 12, budgetMs: 3000, trackGapMs: 700 });
    expect(c.health.host).toBe('127.0.0.1');
    expect(c.gpio.driver).toBe('onoff');
    expect(c.lock.unlockPulseMs).toBe(5000);
    expect(c.pipeline.intraOpThreads).toBe(1);
  });

  it('names the durations and limits the terminal used to hard-code, keeping their values as defaults (the stall check now runs every second)', () => {
    const hub = { url: 'mqtts://hub:8883', caFile: 'ca.pem', certFile: 't.pem', keyFile: 't.key', hubPublicKeyFile: 'hub.pub' };
    const c = parseConfig({ ...minimal, hub }, 'terminal.json', '/etc/doorway');
    expect(c.hub).toMatchObject({ reconnectMinMs: 500, reconnectMaxMs: 30_000, connectTimeoutMs: 10_000, keepaliveS: 30, stopFlushMs: 3000 });
    expect(c.health).toMatchObject({ fpsWindowMs: 5000, stallCheckMs: 1000 });
    expect(c.events).toEqual({ outboxCapacity: 100_000, memoryCapacity: 10_000 });
    expect(c.lock).toMatchObject({ relayAttempts: 3, relayRetryMs: 1000 });
    expect(c.remoteUnlock).toEqual({ max: 6, windowMs: 60_000 });
    expect(c.feedback).toEqual({ grantBeepMs: 200, denyBeeps: 2, denyBlinks: 3, denyToneMs: 100, alarmOnMs: 500, alarmOffMs: 500 });
    expect(problems({ ...minimal, hub: { ...hub, reconnectMinMs: 5000, reconnectMaxMs: 1000 } })).toEqual(['hub: reconnectMinMs must not exceed reconnectMaxMs']);
    expect(problems({ ...minimal, remoteUnlock: { max: 0 } })).toEqual([expect.stringMatching(/^remoteUnlock\.max: /)]);
  });

  it('reads the update section: slots under /opt/doorway, state under the data folder, keys relative to the file', () => {
    const c = parseConfig(minimal, 'terminal.json', '/etc/doorway');
    expect(c.update).toMatchObject({ root: '/opt/doorway', service: 'doorway.service', health: { startTimeoutMs: 120_000, windowMs: 300_000, failAfterProbes: 3 } });
    expect(updateStateDir(c)).toBe('/etc/doorway/data/update');
    const d = parseConfig({ ...minimal, update: { root: 'app', publicKeyFile: 'update-signing.pub', stateDir: '/var/lib/doorway/update' } }, 'terminal.json', '/etc/doorway');
    expect([d.update.root, d.update.publicKeyFile, updateStateDir(d)]).toEqual(['/etc/doorway/app', '/etc/doorway/update-signing.pub', '/var/lib/doorway/update']);
    expect(problems({ ...minimal, update: { service: 'doorway; reboot' } })).toEqual([expect.stringMatching(/^update\.service: /)]);
  });

  it('lists every problem at once, each with its path in the file', () => {
    const p = problems({
      ...minimal,
      terminalId: 'gate 3',
      door: { ...minimal.door, timeZone: 'Mars/Olympus' },
      lock: { lockType: 'maglock' },
      evidence: { minFrames: 9, maxFrames: 4 },
      camera: { kind: 'rtsp', url: 'http://cam' },
      debug: true,
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^terminalId: /),
        expect.stringMatching(/^door\.timeZone: an IANA time zone/),
        expect.stringMatching(/^lock\.lockType: /),
        expect.stringMatching(/^evidence: minFrames must not exceed maxFrames/),
        expect.stringMatching(/^camera\.url: must be an rtsp/),
        expect.stringMatching(/Unrecognized key: "debug"/),
      ]),
    );
    expect(p).toHaveLength(6);
  });

  it('refuses unknown keys inside sections too', () => {
    expect(problems({ ...minimal, gpio: { outputs: { lock: { line: 17, pull: 'up' } } } })).toEqual([expect.stringMatching(/^gpio\.outputs\.lock: Unrecognized key: "pull"/)]);
  });

  it('names the file when it is not JSON or cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'doorway-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ "terminalId": ');
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/^config \S*bad\.json is invalid: is not valid JSON: it ends too early$/);
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/^config \S*missing\.json is invalid: cannot be read \(ENOENT\)$/);
  });
});

describe('identifiers in the config file', () => {
  it('takes terminal, door and building ids by the one identifier rule shared with the hub', () => {
    fc.assert(
      fc.property(nastyId, fc.constantFrom('terminalId', 'doorId', 'buildingId'), (id, field) => {
        const raw = field === 'terminalId' ? { ...minimal, terminalId: id } : { ...minimal, door: { ...minimal.door, [field]: id } };
        const ok = isId(id);
        if (ok) expect(parseConfig(raw, 'terminal.json', '/etc/doorway')).toBeTruthy();
        else {
          const p = problems(raw);
          expect(p.length).toBeGreaterThan(0);
          for (const x of p) expect(x).toMatch(field === 'terminalId' ? /^terminalId: 1 to 64 ASCII letters/ : new RegExp(`^door\\.${field}: 1 to 64 ASCII letters`));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('a config error never repeats the file', () => {
  const secret = 'rtsp://admin:hunter2@10.0.0.5/stream';
  const dir = mkdtempSync(join(tmpdir(), 'doorway-config-secret-'));
  const file = join(dir, 'terminal.json');
  const cases: Array<[string, string]> = [
    ['a password where JSON expects a value', `{"terminalId": "t1", "camera": ${secret}}`],
    ['a password cut short', `{"camera": {"kind": "rtsp", "url": "${secret}"`],
    ['a password as the whole file', secret],
    ['a password as an unknown key', JSON.stringify({ ...minimal, [secret]: 1 })],
    ['a password in a field of the wrong type', JSON.stringify({ ...minimal, terminalId: secret, camera: { kind: secret, url: secret } })],
  ];
  it.each(cases)('%s: one line, the file named, no part of its text', (_what, text) => {
    writeFileSync(file, text);
    let message = '';
    try {
      loadConfig(file);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is invalid: `));
    expect(message).not.toMatch(/hunter2|admin|rtsp:|10\.0\.0\.5/);
    expect(message).not.toMatch(/\n/);
  });
});
