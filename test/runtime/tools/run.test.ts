/**
 * `doorway run`: the process that is one terminal reports itself (memory, descriptors, event-loop delay)
 * on /metrics beside the terminal's own figures; a terminal built as a library does not (several of
 * them may share one process).
 */
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FakeGpio } from '../../../drivers/gpio/fake';
import { startTerminal } from '../../../runtime/main';
import { franckUpsert, makeSiteDir, spawnDoorwayRun, terminalConfig, writeRoster } from '../../harness/terminal-site';

/** `name value` of every unlabelled sample in a Prometheus text page. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*) (\S+)$/i.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

describe('doorway run /metrics', () => {
  it('serves resident memory, V8 heap, external memory, open descriptors and event-loop delay of the terminal process', async () => {
    const site = makeSiteDir();
    writeRoster(site, [await franckUpsert()]);
    const run = spawnDoorwayRun(site, terminalConfig(site));
    try {
      await run.running;
      const port = Number(/health on http:\/\/127\.0\.0\.1:(\d+)\/healthz/.exec(run.stderr())?.[1]);
      const m = samples(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      // the models alone take well over 100 MB; a heap and a few descriptors are always there
      expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(100e6);
      expect(m.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(1e6);
      expect(m.get('nodejs_external_memory_bytes')).toBeGreaterThan(0);
      expect(m.get('process_open_fds')).toBeGreaterThan(3);
      expect(m.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
      expect(m.has('doorway_outbox_depth')).toBe(true); // the terminal's own registry, not another
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, 60_000);

  it('leaves process figures out of a terminal started as a library', async () => {
    const site = makeSiteDir();
    const clock = new SystemClock();
    const t = await startTerminal({ config: terminalConfig(site), clock, gpio: new FakeGpio(clock), logger: silentLogger() });
    try {
      const text = await (await fetch(`http://127.0.0.1:${t.healthPort}/metrics`)).text();
      expect(text).toMatch(/doorway_outbox_depth/);
      expect(text).not.toMatch(/process_resident_memory_bytes/);
    } finally {
      await t.stop();
    }
  }, 60_000);
});
