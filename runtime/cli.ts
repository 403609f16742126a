/**
 * `doorway` command line: the terminal runtime and its tools. Each subcommand parses its arguments with
 * node:util parseArgs and validates them with zod; errors go to stderr, results to stdout.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { InvalidInputError, TerminalError } from './errors';
import { compareCommand, facesCommand } from './tools/faces';
import { livenessCommand } from './tools/liveness';
import { runCommand } from './tools/run';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

type Command = (args: string[], io: CliIo) => Promise<number>;

const USAGE = `usage: doorway <command> [options]

commands:
  run --config FILE          run the terminal (camera, face pipeline, roster, lock, hub sync)
  faces [--json] FILE...     detect and describe every face in each image
  compare [--json] A B       cosine similarity of the largest face in two images
  liveness [--json] FILE...  live person or presentation attack, per video file or image-sequence directory
  help                       this text`;

const commands: Record<string, Command> = {
  faces: facesCommand,
  compare: compareCommand,
  liveness: livenessCommand,
  run: runCommand,
};

export async function run(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.err(`doorway: unknown command ${name}\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (e) {
    if (e instanceof TerminalError) {
      io.err(`doorway ${name}: ${e.message}`);
      return e instanceof InvalidInputError ? 2 : 1;
    }
    throw e;
  }
}

export function main(argv: string[]): void {
  run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`doorway: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

/** parseArgs + zod: returns typed values or throws InvalidInputError listing every problem. */
export function parseCli<T extends z.ZodType>(
  what: string,
  args: string[],
  options: ParseArgsConfig['options'],
  schema: T,
): z.infer<T> {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new InvalidInputError(`${what} arguments`, [(e as Error).message]);
  }
  const r = schema.safeParse({ ...parsed.values, positionals: parsed.positionals });
  if (!r.success) {
    throw new InvalidInputError(
      `${what} arguments`,
      r.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`),
    );
  }
  return r.data;
}
