/**
 * Health and metrics on localhost: `/healthz` (JSON; 200 when every check passes, 503 otherwise) and
 * `/metrics` (Prometheus text, prom-client with a registry of this terminal's own, no globals).
 *
 * `/healthz` says what is wrong in machine-readable words: `faults` (the terminal's degraded-mode
 * fault codes, runtime/terminal/degraded.ts), and `problems`, every reason it is not ok: the faults
 * and `loop-not-running`, `camera-stale`, `models-not-loaded`, `roster-not-loaded`, `lock-not-running`,
 * `hub-disconnected`. `mode` is `degraded` while any fault is raised.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface HealthChecks {
  /** The frame loop is alive (it finished a step within health.stallExitMs). */
  loopRunning: boolean;
  cameraFresh: boolean;
  modelsLoaded: boolean;
  rosterLoaded: boolean;
  lockOk: boolean;
  /** null when no hub is configured. */
  hubConnected: boolean | null;
  /** Degraded-mode fault codes raised now (empty: none). */
  faults: string[];
}

/** The /healthz body: every reason for `ok: false` in `problems`. */
export function healthReport<C extends HealthChecks>(c: C): C & { ok: boolean; mode: 'normal' | 'degraded'; problems: string[] } {
  const problems = [...c.faults];
  if (!c.loopRunning) problems.push('loop-not-running');
  if (!c.cameraFresh) problems.push('camera-stale');
  if (!c.modelsLoaded) problems.push('models-not-loaded');
  if (!c.rosterLoaded) problems.push('roster-not-loaded');
  if (!c.lockOk) problems.push('lock-not-running');
  if (c.hubConnected === false) problems.push('hub-disconnected');
  return { ok: problems.length === 0, mode: c.faults.length > 0 ? 'degraded' : 'normal', problems, ...c };
}

/**
 * Not checks, but what the update agent (runtime/update) asks before it restarts the terminal: is the
 * door released, open or in a passage, and how many persons have only templates of another model.
 */
export interface HealthReport extends HealthChecks {
  door: { lock: string; doorOpen: boolean; passage: boolean };
  reenrolment: number;
}

export class TerminalMetrics {
  readonly registry = new Registry();
  readonly frames = new Counter({ name: 'doorway_frames_processed_total', help: 'Frames run through the face pipeline', registers: [this.registry] });
  readonly decisions = new Counter({ name: 'doorway_decisions_total', help: 'Door decisions by outcome and reason', labelNames: ['outcome', 'reason'] as const, registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'doorway_decision_latency_seconds',
    help: 'From the first frame of a face to its decision (and relay command)',
    buckets: [0.05, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2, 3],
    registers: [this.registry],
  });
  readonly errors = new Counter({ name: 'doorway_decision_errors_total', help: 'Decision path errors (door stayed locked)', labelNames: ['code'] as const, registers: [this.registry] });
  readonly outboxDepth = new Gauge({ name: 'doorway_outbox_depth', help: 'Events waiting for the hub acknowledgement', registers: [this.registry] });
  readonly rosterVersion = new Gauge({ name: 'doorway_roster_version', help: 'Applied roster version', registers: [this.registry] });
  readonly syncLag = new Gauge({ name: 'doorway_sync_lag_seconds', help: 'Seconds since the hub link was last up (0 while connected)', registers: [this.registry] });
  readonly cameraFps = new Gauge({ name: 'doorway_camera_fps', help: 'Frames decoded per second over the last 5 s', registers: [this.registry] });
  readonly lockEvents = new Counter({ name: 'doorway_lock_events_total', help: 'Lock controller events by type', labelNames: ['type'] as const, registers: [this.registry] });
  private processMetrics = false;

  /**
   * Adds prom-client's standard process metrics to this registry: resident memory, V8 heap and external
   * memory, open file descriptors, event-loop delay (p50/p90/p99 since the previous scrape), active
   * handles, GC. They describe the whole process, so only the process that is one terminal (`doorway
   * run`) adds them, once: a process running several terminals (the demo, tests) would report the
   * same process under each. Watched over days they show a leak (npm run bench:soak reads them).
   */
  includeProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }
}

export class HealthServer {
  private server: Server | null = null;

  constructor(
    private readonly opts: { host: string; port: number },
    private readonly checks: () => HealthChecks | HealthReport,
    private readonly metrics: TerminalMetrics,
    private readonly refresh: () => void = () => {},
  ) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      if (req.url === '/healthz') {
        const r = healthReport(this.checks());
        res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
        return;
      }
      if (req.url === '/metrics') {
        this.refresh();
        this.metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
        return;
      }
      res.writeHead(404).end();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
