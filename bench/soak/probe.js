// Loaded with `node --require` into the hub process the soak bench measures (bench/soak.ts):
// `provision hub` serves no metrics, and its V8 heap, external memory and event-loop delay can only be
// read from inside it. The bench asks over the IPC channel it spawned the hub with; the answer holds
// the same figures the terminal reports on /metrics (prom-client's default metrics): process.memoryUsage()
// and the p99 of an event-loop delay histogram at 10 ms resolution, reset at each read (so: the p99
// since the previous sample). Nothing else of the hub is touched; without an IPC channel this does nothing.
// Plain CommonJS so that it loads as it is into the compiled hub (no TypeScript loader in that process).
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');

if (typeof process.send === 'function') {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.on('message', (m) => {
    if (!m || typeof m !== 'object' || m.type !== 'doorway-soak-sample') return;
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
      eventLoopP99Ms: p99Ms,
      activeResources: typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo().length : NaN,
    });
  });
  // the channel must not keep the hub alive: it stops on its signals as without the probe
  if (process.channel) process.channel.unref();
}
