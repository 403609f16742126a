// Loaded with `node --require` into the processes the soak bench measures (bench/soak.ts):
// `provision hub` serves no metrics, and its V8 heap, external memory and event-loop delay can only be
// read from inside it. The bench asks over the IPC channel it spawned the process with; the answer holds
// the same figures the terminal reports on /metrics (prom-client's default metrics): process.memoryUsage()
// and the p99 of an event-loop delay histogram at 10 ms resolution, reset at each read (so: the p99
// since the previous sample). Also, for both the hub and the terminal: the V8 heap used as it was right
// after the last major (mark-compact) collection and how many there have been. Heap used between two
// major collections includes the garbage promoted since the last one; after one it is what is alive, so
// a leak shows there and garbage does not (V8's figure for the end of that collection, v8.GCProfiler).
// `doorway-soak-alloc-start` / `doorway-soak-alloc-profile` (bench:soak --alloc-profile): V8's sampling heap
// profiler from the end of the warm-up, keeping the objects a major collection freed and dropping those
// a minor one freed: what it holds at the end is what was promoted to the old generation (alive or
// garbage awaiting a major collection), by allocation stack, written as a .heapprofile for
// bench/alloc-profile.ts. Off unless asked.
// Nothing else of the process is touched; without an IPC channel this does nothing.
// Plain CommonJS so that it loads as it is into the compiled hub (no TypeScript loader in that process).
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const v8 = require('node:v8');

if (typeof process.send === 'function') {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let heapAfterMajorGc = NaN;
  let majorGcs = 0;
  // V8's own record of each collection (v8.GCProfiler), emptied at every sample and every 10 s: the heap
  // used exactly as a major collection left it. A PerformanceObserver of 'gc' entries, used before, made
  // an entry with deprecation wrappers for every collection, minor ones too, and the observer's queue
  // kept them past a scavenge: 15% of what the hub promoted in bench:soak --alloc-profile was the probe's.
  const gcs = new v8.GCProfiler();
  gcs.start();
  const readGcs = () => {
    const r = gcs.stop();
    gcs.start();
    for (const s of (r && r.statistics) || []) {
      if (s.gcType !== 'MarkSweepCompact') continue;
      majorGcs += 1;
      heapAfterMajorGc = s.afterGC.heapStatistics.usedHeapSize;
    }
  };
  setInterval(readGcs, 10_000).unref(); // bounded while nobody asks
  let profiler = null;
  process.on('message', (m) => {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'doorway-soak-alloc-start' && !profiler) {
      const inspector = require('node:inspector');
      profiler = new inspector.Session();
      profiler.connect();
      profiler.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
      return;
    }
    if (m.type === 'doorway-soak-alloc-profile') {
      const done = (error) => process.send({ type: 'doorway-soak-alloc-profile', id: m.id, error: error ? String(error) : null });
      if (!profiler) return done('sampling was not started');
      profiler.post('HeapProfiler.getSamplingProfile', (err, r) => {
        if (err) return done(err);
        try {
          require('node:fs').writeFileSync(m.file, JSON.stringify(r.profile));
          done(null);
        } catch (e) {
          done(e);
        }
      });
      return;
    }
    if (m.type !== 'doorway-soak-sample') return;
    readGcs();
    const mem = process.memoryUsage();
    const p99Ms = delay.count > 0 ? delay.percentile(99) / 1e6 : NaN;
    delay.reset();
    process.send({
      type: 'doorway-soak-sample',
      id: m.id,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      heapAfterMajorGc,
      majorGcs,
      eventLoopP99Ms: p99Ms,
      activeResources: typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo().length : NaN,
    });
  });
  // the channel must not keep the process alive: it stops on its signals as without the probe
  if (process.channel) process.channel.unref();
}
