/** `doorway run --config FILE`: the terminal process. */
import { z } from 'zod';
import { type CliIo, parseCli } from '../command-line';
import { runFromConfigFile } from '../main';

const RunArgs = z.strictObject({
  config: z.string({ message: '--config FILE is required' }).min(1),
  positionals: z.array(z.string()).max(0, 'run takes no positional arguments'),
});

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const a = parseCli('run', args, { config: { type: 'string' } }, RunArgs);
  const t = await runFromConfigFile(a.config);
  // This process is one terminal: its memory, descriptors and event-loop delay go on /metrics too.
  t.metrics.includeProcessMetrics();
  io.err(`doorway: terminal ${t.config.terminalId} running; health on http://${t.config.health.host}:${t.healthPort}/healthz`);
  // keep running until a signal stops the process (handlers installed by runFromConfigFile)
  await new Promise<never>(() => {});
  return 0;
}
