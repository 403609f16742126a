/**
 * `reload-config` (the hub's command, or SIGHUP): the config file the terminal was started with is read
 * and validated again. Invalid: the running config stays, the problem paths (never values) are logged
 * and reported. Changed door, decision, liveness or evidence sections apply live (the liveness policy
 * from the next face track on); any other change stops the terminal as on SIGTERM and exits with
 * EXIT_RESTART_FOR_CONFIG, for its supervisor to start it on the new file.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { ConfigError, loadConfig, type Config } from '../config';
import { planReload, type ConfigSection } from '../config-reload';
import type { Recorder } from './events';

/**
 * Exit status after a config reload whose changes need a restart (EX_TEMPFAIL): the process stopped
 * cleanly (relay safe, outbox flushed) and its supervisor (systemd, Restart=always) starts it again
 * on the new file.
 */
export const EXIT_RESTART_FOR_CONFIG = 75;

/** What a config reload did (also recorded as a `config.reload` event). */
export interface ReloadResult {
  outcome: 'applied' | 'restart' | 'unchanged' | 'rejected';
  /** Changed sections (applied live, or needing the restart). */
  sections: ConfigSection[];
  /** Paths in the file of what is invalid (rejected only). */
  problems: string[];
}

export interface ConfigReloadDeps {
  clock: Clock;
  log: Logger;
  recorder: Recorder;
  /** The file the terminal was started from (null: none, a reload is refused). */
  configFile: string | null;
  current: () => Config;
  /** Takes a new config whose changes all apply live. */
  apply: (next: Config) => void;
  /** Stops the terminal cleanly and ends the process with `code`. */
  restart: (code: number) => Promise<void>;
  stopping: () => boolean;
  /** A rejected file (counted in the terminal's metrics). */
  onRejected: () => void;
  notify: (message: string) => void;
}

export class ConfigReload {
  private reloading: Promise<ReloadResult> | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: ConfigReloadDeps) {
    this.log = deps.log.child({ module: 'config-reload' });
  }

  /** Reads the file again; a reload asked for while one runs joins it. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.doReload().finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async doReload(): Promise<ReloadResult> {
    const d = this.deps;
    const at = d.clock.now();
    const report = (r: ReloadResult): ReloadResult => {
      d.recorder.record({ type: 'config.reload', outcome: r.outcome, sections: r.sections, problems: r.problems.slice(0, 20).map((p) => p.slice(0, 200)) }, at);
      d.notify(`config reload ${r.outcome}${r.sections.length ? `: ${r.sections.join(', ')}` : ''}`);
      return r;
    };
    if (d.stopping()) return { outcome: 'unchanged', sections: [], problems: [] };
    if (!d.configFile) {
      this.log.warn('config reload asked, but this terminal was not started from a config file');
      return report({ outcome: 'rejected', sections: [], problems: ['(no config file)'] });
    }
    let next: Config;
    try {
      next = loadConfig(d.configFile);
    } catch (e) {
      const paths = e instanceof ConfigError ? [...new Set(e.paths)] : ['(file)'];
      // Paths only: a message could quote the file's text.
      this.log.error({ file: d.configFile, problems: paths }, 'config reload rejected: the new file is invalid; running config kept');
      d.onRejected();
      return report({ outcome: 'rejected', sections: [], problems: paths });
    }
    const plan = planReload(d.current(), next);
    if (plan.outcome === 'unchanged') {
      this.log.info('config reload: nothing changed');
      return report({ outcome: 'unchanged', sections: [], problems: [] });
    }
    if (plan.outcome === 'restart') {
      this.log.warn({ restart: plan.restart, live: plan.live }, 'config reload: changes need a restart; stopping');
      const r = report({ outcome: 'restart', sections: [...plan.restart, ...plan.live], problems: [] });
      await d.restart(EXIT_RESTART_FOR_CONFIG);
      return r;
    }
    d.apply(next);
    this.log.info({ sections: plan.live }, 'config reload applied');
    return report({ outcome: 'applied', sections: plan.live, problems: [] });
  }
}
