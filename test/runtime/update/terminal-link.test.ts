/**
 * The terminal's side of updates: the agent's reports reach the outbox (once each, never lost when the
 * outbox refuses), and the heartbeat says which version and slot run.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import type { SyncEvent } from '../../../runtime/protocol/schemas';
import { Slots } from '../../../runtime/update/slots';
import { ensureDir, UpdateReports, UpdateStateStore, type UpdateOutcomeEvent } from '../../../runtime/update/state';
import { SystemdRunLauncher, UpdateLaunchError } from '../../../runtime/update/launcher';
import { UpdateLink } from '../../../runtime/update/terminal-link';
import { runtimeTree, tempDir } from '../../harness/update';

const report = (n: number): UpdateOutcomeEvent => ({ id: ulid(1000 + n), at: 1000 + n, type: 'update.outcome', outcome: 'committed', version: '0.2.0', running: '0.2.0', reason: null, detail: null });

describe('UpdateLink', () => {
  it('moves each report into the outbox once, oldest first, and discards a file that is not a report', () => {
    const state = tempDir('state');
    const reports = new UpdateReports(join(state, 'reports'));
    reports.write(report(2));
    reports.write(report(1));
    writeFileSync(join(state, 'reports', `${ulid(5000)}.json`), '{"type":"entry.granted"}');
    const link = new UpdateLink(state, tempDir('root'));
    const got: SyncEvent[] = [];
    expect(link.drain((e) => got.push(e))).toEqual({ recorded: 2, invalid: 1 });
    expect(got.map((e) => e.at)).toEqual([1001, 1002]);
    expect(link.drain((e) => got.push(e))).toEqual({ recorded: 0, invalid: 0 });
  });

  it('keeps a report the outbox could not take, for the next drain', () => {
    const state = tempDir('state');
    const r = report(1);
    new UpdateReports(join(state, 'reports')).write(r);
    const link = new UpdateLink(state, tempDir('root'));
    expect(link.drain(() => {
      throw new Error('disk full');
    })).toEqual({ recorded: 0, invalid: 0 });
    expect(existsSync(join(state, 'reports', `${r.id}.json`))).toBe(true);
  });

  it('says nothing in the heartbeat for a terminal outside the slot layout with no update record', () => {
    expect(new UpdateLink(tempDir('state'), tempDir('root')).heartbeat()).toBeNull();
  });

  it('reports the running slot, its version and the state of the last update', () => {
    const root = tempDir('root');
    const slots = new Slots(root);
    slots.adopt(runtimeTree(tempDir('installed'), { version: '0.1.0' }));
    const stateDir = tempDir('state');
    const link = new UpdateLink(stateDir, root);
    expect(link.heartbeat()).toEqual({ version: null, slot: 'a', state: 'idle' });
    const store = new UpdateStateStore(stateDir);
    mkdirSync(stateDir, { recursive: true });
    store.write({ v: 1, slots: { a: { version: '0.1.0', embedModel: null, installedAt: 0 }, b: null }, committed: 'a', trial: null, last: { outcome: 'rolled-back', version: '0.2.0', reason: 'crashed', detail: null, at: 5 } });
    expect(link.heartbeat()).toEqual({ version: '0.1.0', slot: 'a', state: 'rolled-back' });
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('gives the folders the agent (root) makes the owner of the data folder, so the terminal can delete its reports', () => {
    const data = join(tempDir('data'), 'doorway');
    mkdirSync(data);
    chownSync(data, 65534, 65534);
    ensureDir(join(data, 'update', 'reports'));
    expect([statSync(join(data, 'update')).uid, statSync(join(data, 'update', 'reports')).uid]).toEqual([65534, 65534]);
  });

  it("starts the agent for an offered bundle as a transient systemd unit outside the terminal's own, and refuses an offer when it has no launcher", async () => {
    const dir = tempDir('launch');
    const argsFile = join(dir, 'args');
    const fakeRun = join(dir, 'systemd-run');
    writeFileSync(fakeRun, `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\n`, { mode: 0o755 });
    const url = 'https://hub.example:8443/updates/doorway-0.2.0.bundle';
    const link = new UpdateLink(tempDir('state'), '/opt/doorway', new SystemdRunLauncher({ configFile: '/etc/doorway/terminal.json', root: '/opt/doorway', node: '/usr/bin/node', systemdRun: fakeRun }));
    await link.install(url);
    expect(readFileSync(argsFile, 'utf8').trim().split('\n')).toEqual([
      '--unit=doorway-update-install', '--collect', '--property=After=doorway.service',
      '/usr/bin/node', '/opt/doorway/current/bin/doorway.js', 'update', 'install', '--config', '/etc/doorway/terminal.json', '--url', url,
    ]);
    writeFileSync(fakeRun, '#!/bin/sh\necho "Unit doorway-update-install.service was already loaded" >&2\nexit 1\n', { mode: 0o755 });
    await expect(link.install(url)).rejects.toThrow(/already loaded/);
    await expect(new UpdateLink(tempDir('state'), tempDir('root')).install(url)).rejects.toBeInstanceOf(UpdateLaunchError);
  });
});
