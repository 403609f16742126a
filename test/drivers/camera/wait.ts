// Small helpers for camera tests that run real ffmpeg: wait for an event, tell whether a child is gone.
// (Waiting for a condition: test/harness/wait.ts.)
import * as fs from 'node:fs';
import type { FrameSource, FrameSourceEvents } from '../../../drivers/camera';

export function once<K extends keyof FrameSourceEvents>(
  source: FrameSource,
  event: K,
  timeoutMs = 20_000,
): Promise<Parameters<FrameSourceEvents[K]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (arg: Parameters<FrameSourceEvents[K]>[0]): void => {
      clearTimeout(timer);
      off();
      resolve(arg);
    };
    const off = source.on(event, listener);
  });
}

/** True while a process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
