/**
 * How the running terminal starts its update agent when the hub offers a bundle (the signed `update`
 * command of a rollout). The agent restarts the terminal, so it must not be the terminal's child:
 *
 * - SystemdRunLauncher (terminals): `systemd-run --unit=doorway-update-install --collect ... doorway
 *   update install --config FILE --url URL`, a transient unit outside doorway.service's control group
 *   (deploy/doorway-update.service). A second offer while one runs is refused by systemd (the unit
 *   exists) and by the agent's lock file.
 * - AgentLauncher: runs an UpdateAgent in this process, for a process that is not the one restarted
 *   (the tests' terminal links, whose stand-in terminals are separate processes).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { programPath } from '../../core/programs';
import type { UpdateAgent, UpdateResult } from './agent';

export class UpdateLaunchError extends TerminalError {
  readonly code = 'update-launch';
}

export interface UpdateLauncher {
  /** Starts an install from `url`; resolves once it has started (not when it ends). */
  launch(url: string): Promise<void>;
}

export const INSTALL_UNIT = 'doorway-update-install';

export class SystemdRunLauncher implements UpdateLauncher {
  constructor(
    private readonly o: { configFile: string; root: string; node?: string; systemdRun?: string },
  ) {}

  /** The systemd-run arguments (exposed for its test: nothing else about it can run here). */
  args(url: string): string[] {
    return [
      `--unit=${INSTALL_UNIT}`,
      '--collect',
      '--property=After=doorway.service',
      this.o.node ?? process.execPath,
      join(this.o.root, 'current', 'bin', 'doorway.js'),
      'update',
      'install',
      '--config',
      this.o.configFile,
      '--url',
      url,
    ];
  }

  launch(url: string): Promise<void> {
    const file = this.o.systemdRun ?? programPath('systemd-run');
    return new Promise((resolve, reject) => {
      execFile(file, this.args(url), { timeout: 30_000, encoding: 'utf8' }, (err, _out, stderr) => {
        if (err) reject(new UpdateLaunchError(`systemd-run failed: ${(stderr || err.message).trim().split('\n').slice(-1).join('')}`));
        else resolve();
      });
    });
  }
}

export class AgentLauncher implements UpdateLauncher {
  private running: Promise<UpdateResult> | null = null;

  constructor(
    private readonly agent: UpdateAgent,
    private readonly log: Logger,
    /** Told when an install ends (tests wait for it). */
    private readonly onDone: (r: UpdateResult) => void = () => undefined,
  ) {}

  launch(url: string): Promise<void> {
    if (this.running) return Promise.reject(new UpdateLaunchError('an install is already running'));
    this.running = this.agent.installFromUrl(url);
    this.running.then(
      (r) => {
        this.running = null;
        this.onDone(r);
      },
      (e: unknown) => {
        this.running = null;
        this.log.error({ err: (e as Error).message }, 'update install failed');
      },
    );
    return Promise.resolve();
  }
}
