/**
 * Service managers: the systemd one runs the real `systemctl` command line (a stand-in script on PATH,
 * since no systemd runs here) and parses what `systemctl show` prints; the process supervisor runs real
 * child processes and counts the restarts it made after a crash, as systemd's NRestarts does.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { ProcessServiceManager, ServiceManagerError, SystemdServiceManager } from '../../../runtime/update/service';
import { scaled, tempDir } from '../../harness/update';

function fakeSystemctl(show: string, exitCode = 0): { path: string; calls: () => string[] } {
  const dir = tempDir('systemctl');
  const log = join(dir, 'calls');
  const path = join(dir, 'systemctl');
  writeFileSync(path, `#!/bin/sh\necho "$@" >> ${log}\nif [ "$1" = show ]; then printf '${show}'; fi\nexit ${exitCode}\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => readFileSync(log, 'utf8').trim().split('\n') };
}

describe('SystemdServiceManager', () => {
  it('restarts the unit and reads ActiveState, MainPID and NRestarts', async () => {
    const s = fakeSystemctl('ActiveState=active\\nMainPID=4242\\nNRestarts=3\\n');
    const m = new SystemdServiceManager('doorway.service', undefined, s.path);
    await m.restart();
    expect(await m.status()).toEqual({ active: true, pid: 4242, restarts: 3 });
    expect(s.calls()).toEqual(['restart doorway.service', 'show doorway.service --property=ActiveState,MainPID,NRestarts']);
  });

  it('reads a stopped unit as inactive without a pid', async () => {
    const s = fakeSystemctl('MainPID=0\\nNRestarts=5\\nActiveState=failed\\n');
    expect(await new SystemdServiceManager('doorway.service', undefined, s.path).status()).toEqual({ active: false, pid: null, restarts: 5 });
  });

  it('turns a failing systemctl and unreadable output into typed errors', async () => {
    await expect(new SystemdServiceManager('doorway.service', undefined, fakeSystemctl('', 1).path).restart()).rejects.toThrow(ServiceManagerError);
    await expect(new SystemdServiceManager('doorway.service', undefined, fakeSystemctl('nonsense\\n').path).status()).rejects.toThrow(ServiceManagerError);
    expect(() => new SystemdServiceManager('doorway; rm -rf /')).toThrow(ServiceManagerError);
  });
});

describe('ProcessServiceManager', () => {
  async function until(f: () => Promise<boolean>, ms: number): Promise<void> {
    for (let waited = 0; !(await f()); waited += 50) {
      if (waited > ms) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('starts the command again after it dies, counting that restart, and not a restart it was asked for', async () => {
    const dir = tempDir('svc');
    const script = join(dir, 'svc.js');
    // lives 300 ms the first time, then for good
    writeFileSync(script, `const fs=require('fs');const f=${JSON.stringify(join(dir, 'runs'))};const n=fs.existsSync(f)?Number(fs.readFileSync(f,'utf8')):0;fs.writeFileSync(f,String(n+1));setTimeout(()=>{},1e9);if(n===0)setTimeout(()=>process.exit(1),300);`);
    const m = new ProcessServiceManager(() => ({ file: process.execPath, args: [script] }), new SystemClock(), { restartMs: 100, stopTimeoutMs: scaled(2000) });
    m.start();
    try {
      const first = await m.status();
      expect(first).toMatchObject({ active: true, restarts: 0 });
      await until(async () => (await m.status()).restarts === 1 && (await m.status()).active, scaled(5000));
      const second = await m.status();
      expect(second.pid).not.toBe(first.pid);
      await m.restart();
      const third = await m.status();
      expect(third).toMatchObject({ active: true, restarts: 1 });
      expect(third.pid).not.toBe(second.pid);
    } finally {
      await m.stop();
    }
    expect(await m.status()).toMatchObject({ active: false, pid: null });
  });
});
