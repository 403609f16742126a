import type { LockController } from './controller';

export interface ExitGuardOptions {
  /** The process to guard (tests pass a child's own `process`). */
  proc?: NodeJS.Process;
  /** After stopping the controller on SIGTERM/SIGINT, exit with 128+signal (default true). */
  exitOnSignal?: boolean;
}

/**
 * Relay safety on process exit (see README.md, "Relay state table"):
 *  - SIGTERM / SIGINT: controller.stop() (locked level, or released while the fire alarm is active),
 *    then exit unless told otherwise;
 *  - any other exit that runs JavaScript (process.exit, uncaught exception): a last synchronous write
 *    of the locked level (released if the fire input reads active).
 * SIGKILL, OOM kill and power loss run no code: the relay keeps its last level (sysfs lines stay
 * driven) or falls to the lock type's unpowered state.
 * Returns a function that removes the guards.
 */
export function installLockExitGuards(controller: LockController, opts: ExitGuardOptions = {}): () => void {
  const proc = opts.proc ?? process;
  const exitOnSignal = opts.exitOnSignal ?? true;
  const onSignal = (signal: NodeJS.Signals): void => {
    controller.stop();
    if (exitOnSignal) proc.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const onExit = (): void => controller.emergencySafeState();
  proc.on('SIGTERM', onSignal);
  proc.on('SIGINT', onSignal);
  proc.on('exit', onExit);
  return () => {
    proc.off('SIGTERM', onSignal);
    proc.off('SIGINT', onSignal);
    proc.off('exit', onExit);
  };
}
