/**
 * `npm run bench:community -- [--terminals 200] [--residents 39000] [--workers 0] [--moves 43]
 *                             [--move-interval-ms 500] [--entries 8000] [--peak-minutes 30]
 *                             [--peak-factors 30,60,120,240] [--sync-timeout-s 3600] [--seed 19]
 *                             [--json] [--keep] [--profile]`
 *
 * The whole community at once on one machine: one hub (`provision hub` as deployed), a real mosquitto
 * and `--terminals` door terminals that are real protocol clients (each its own bundle, certificate,
 * MQTT connection, sync client, encrypted roster and outbox; grouped 10 to a worker process), with
 * `--residents` residents who may open their building's door and every gate. Phases and figures:
 * bench/community/run.ts. A small run: `--terminals 20 --residents 4000` (a couple of minutes).
 *
 * `--json`: one last line, snake_case keys with their unit. `--keep` keeps the work folder (logs, the
 * community, every terminal's files); `--profile` also writes a CPU profile of the hub there.
 */
import os from 'node:os';
import { parseCommunityBenchArgs } from './community/figures';
import { abortCommunityBench, runCommunityBench } from './community/run';
import { r2 } from './stats';

const say = (s: string): void => void process.stderr.write(`${s}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void abortCommunityBench().finally(() => process.exit(130)));
}

async function main(): Promise<void> {
  const a = parseCommunityBenchArgs(process.argv.slice(2));
  say(`bench:community: ${a.terminals} terminals, ${a.residents} residents; ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, load ${os.loadavg()[0]?.toFixed(2)}`);
  const r = await runCommunityBench(a, say);
  // The peak's figures: the most compressed run whose backlog did not grow (or the first, if all grew).
  const ok = r.peaks.filter((p) => !p.growing);
  const peak = ok.at(-1) ?? r.peaks[0];
  const goals = [
    [`revoke_p99_ms <= 2000 at ${r.terminals} doors`, r.revokeP99Ms <= 2000 && r.revokeMissed === 0],
    [`no growing backlog at the peak (compressed ${peak?.factor ?? '?'}x)`, peak !== undefined && !peak.growing],
    ['hub_rss_mb <= 1024', r.hubRssMb <= 1024],
  ] as const;
  for (const [g, met] of goals) say(`goal ${g}: ${met ? 'met' : 'NOT met'}`);
  if (a.json) {
    process.stdout.write(`${JSON.stringify({
      terminals: r.terminals,
      residents: r.residents,
      workers: r.workers,
      roster_version: r.rosterVersion,
      initial_sync_s: r2(r.initialSyncS),
      initial_sync_p50_s: r2(r.initialSyncP50S),
      moves: r.moves,
      revoke_p50_ms: r2(r.revokeP50Ms),
      revoke_p99_ms: r2(r.revokeP99Ms),
      revoke_door_p50_ms: r2(r.revokeDoorP50Ms),
      revoke_door_p99_ms: r2(r.revokeDoorP99Ms),
      revoke_affected_doors_p50: r.revokeAffectedDoorsP50,
      revoke_missed: r.revokeMissed,
      approval_door_p50_ms: r2(r.approvalDoorP50Ms),
      approval_door_p99_ms: r2(r.approvalDoorP99Ms),
      tag_p50_ms: r2(r.tagP50Ms),
      tag_p99_ms: r2(r.tagP99Ms),
      tag_doors: r.tagDoors,
      peak_factor: peak?.factor ?? null,
      peak_entries: peak?.entries ?? null,
      peak_events_per_s: r2(peak?.eventsPerS ?? NaN),
      entry_to_hub_p50_ms: r2(peak?.entryToHubP50Ms ?? NaN),
      entry_to_hub_p99_ms: r2(peak?.entryToHubP99Ms ?? NaN),
      peak_backlog_max: peak?.backlogMax ?? null,
      peak_backlog_growing: peak?.growing ?? null,
      peak_drain_s: r2(peak?.drainS ?? NaN),
      peak_factors_growing: r.peaks.filter((p) => p.growing).map((p) => p.factor),
      hub_rss_mb: r2(r.hubRssMb),
      hub_rss_published_mb: r2(r.hubRssPublishedMb),
      hub_heap_after_gc_published_mb: r2(r.hubHeapAfterGcPublishedMb),
      hub_heap_after_gc_end_mb: r2(r.hubHeapAfterGcEndMb),
      hub_cpu_s: r2(r.hubCpuS),
      broker_rss_mb: r2(r.brokerRssMb),
      broker_cpu_s: r2(r.brokerCpuS),
      terminal_disk_bytes_p50: r.terminalDiskBytesP50,
      terminal_disk_bytes_max: r.terminalDiskBytesMax,
      load1: r.load1,
    })}\n`);
  }
}

main().catch((e: unknown) => {
  say(`bench:community failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
