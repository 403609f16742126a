import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { silentLogger } from '../../../core/log';
import { Matcher } from '../../../runtime/roster/matcher';
import { RosterStore } from '../../../runtime/roster/store';
import { MODEL, person, rng, tempRoster, unitVector } from './fixtures';

describe('RosterStore crash safety', () => {
  it('keeps the previous version intact and readable when the process is SIGKILLed mid-batch', async () => {
    const env = tempRoster();
    try {
      const rand = rng(1);
      const old = Array.from({ length: 5 }, () => unitVector(rand));
      const store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
      store.applyBatch({ version: 1, upserts: old.map((v, i) => person(`old-${i}`, [v])) });
      store.close();

      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'apply-child.ts'), env.path, env.secretFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('mid')) resolve();
        });
        child.on('exit', () => reject(new Error(`child exited before the middle of the batch: ${out} ${err}`)));
      });
      child.kill('SIGKILL');
      expect(await exit).toBe('SIGKILL');
      expect(out).not.toContain('finished');

      const reopened = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
      expect(reopened.version()).toBe(1);
      expect(reopened.getPerson('old-0')?.status).toBe('active');
      expect(reopened.getPerson('new-0')).toBeNull();
      const m = Matcher.fromStore(reopened, { modelId: MODEL });
      expect(m.size).toBe(5);
      expect(m.search(old[3]!, 1)[0]?.personId).toBe('old-3');
      expect(reopened.quarantined()).toEqual([]);
      m.close();
      reopened.close();
    } finally {
      env.cleanup();
    }
  });
});
