/**
 * What `doorway` and `provision` share on the command line: I/O, subcommand dispatch with one error
 * contract, and argument parsing (node:util parseArgs, then zod).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { InvalidInputError, TerminalError } from '../core/errors';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const stdIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

export type Command = (args: string[], io: CliIo) => Promise<number>;

/**
 * A program made of subcommands. A TerminalError is printed as one line (exit 2 for bad input, 1
 * otherwise); anything else is a bug and prints its stack.
 */
export function commandLine(
  program: string,
  usage: string,
  commands: Record<string, Command>,
): { run: (argv: string[], io?: CliIo) => Promise<number>; main: (argv: string[]) => void } {
  const run = async (argv: string[], io: CliIo = stdIo): Promise<number> => {
    const [name, ...rest] = argv;
    if (!name || name === 'help' || name === '--help' || name === '-h') {
      io.out(usage);
      return name ? 0 : 2;
    }
    const command = commands[name];
    if (!command) {
      io.err(`${program}: unknown command ${oneLine(name.slice(0, 40))} (${program} help lists the commands)`);
      return 2;
    }
    try {
      return await command(rest, io);
    } catch (e) {
      if (e instanceof TerminalError) {
        io.err(`${program} ${name}: ${oneLine(e.message)}`);
        return e instanceof InvalidInputError ? 2 : 1;
      }
      throw e;
    }
  };
  const main = (argv: string[]): void => {
    run(argv).then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        process.stderr.write(`${program}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  };
  return { run, main };
}

/** Line and paragraph separators and the bidirectional marks and overrides that could reorder a line. */
const UNSAFE = new Set([0x2028, 0x2029, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

/** A message as one line: line breaks become "; ", other control characters are escaped. */
export function oneLine(message: string): string {
  return [...message.replace(/\s*[\r\n]+\s*/g, '; ')]
    .map((ch) => {
      const c = ch.codePointAt(0) ?? 0;
      return c < 0x20 || c === 0x7f || UNSAFE.has(c) ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
    })
    .join('');
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
