/** The project's command lines run as child processes, exactly as an operator runs them. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = { provision: join(__dirname, '../../bin/provision.js'), doorway: join(__dirname, '../../bin/doorway.js') } as const;

/** Run bin/<name>.js with `args`; `env` is added to this process's environment. */
export function runBin(name: keyof typeof BIN, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN[name], ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exactly one line on stderr (ending in a newline), with no stack frame in it. */
export function oneErrorLine(r: BinResult): string {
  const lines = r.stderr.split('\n');
  if (lines.length !== 2 || lines[1] !== '' || /\bat .+:\d+:\d+\)?$/.test(r.stderr)) throw new Error(`expected one line on stderr, got: ${JSON.stringify(r.stderr.slice(0, 2000))}`);
  return lines[0] ?? '';
}
