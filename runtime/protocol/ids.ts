/**
 * The one rule for identifiers: persons, terminals, doors, buildings, alert tags and operators. Each of
 * them ends up in a file name, an MQTT topic level, an X.509 common name, a mosquitto ACL line, an
 * audit row or a log line, on the terminal or on the hub, so terminal and hub both take them from here.
 *
 *   1 to 64 characters: ASCII letters, digits, ".", "_" and "-" (the POSIX portable file name
 *   character set); the first character a letter or digit, the last one not ".".
 *
 * Why each part:
 * - ASCII only: no Unicode look-alikes of "." or "/" (U+2024, U+FF0F, U+2215), no bidirectional or
 *   zero-width marks, no combining characters, no normalisation differences between file systems;
 *   what an operator reads in a log is what the machine compares.
 * - No "/", "\", NUL or control characters: never a path separator, never a second line in the
 *   mosquitto ACL or config, never a cut-short C string in openssl.
 * - No "+", "#": never an MQTT wildcard; no "%": never a mosquitto ACL pattern (%u, %c) or a
 *   percent-encoded "." (%2e); no "=", ",", "+": never a second field in an X.509 subject (/CN=...).
 * - First character a letter or digit: never ".", "..", a hidden file, or something a program reads
 *   as an option ("-rf"). Not ending in ".": Windows and some tools drop a trailing dot, which would
 *   make "a." and "a" one file.
 * - 64 at most: the X.509 limit for a common name, far inside every file name limit (255 bytes).
 *
 * Case is kept and compared exactly ("P-1" and "p-1" are two persons), as in SQLite, MQTT and
 * certificates; where an id names a file on a file system that may ignore case (terminals/<id>.crt),
 * the caller also refuses an id that differs from an existing one only by case.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';

export const ID_MAX_LENGTH = 64;

const ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_-])?$/;

export const ID_RULE = `1 to ${ID_MAX_LENGTH} ASCII letters, digits, ".", "_" or "-", starting with a letter or digit and not ending with "."`;

/** Every identifier that becomes part of a path, a topic, a certificate name or an ACL line. */
export const IdSchema = z.string().regex(ID_PATTERN, ID_RULE); // the pattern bounds the length too
export type Id = z.infer<typeof IdSchema>;

/** What an identifier names (for error messages). */
export type IdKind = 'person' | 'terminal' | 'door' | 'building' | 'tag' | 'operator' | 'door or terminal';

/**
 * A value quoted for one line of an error message or log: non-printable and non-ASCII characters
 * escaped (\n, \u202e...), long values cut. Never a second line, never a reversed line.
 */
export function printable(value: string, max = 40): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  const escaped = cut.replace(/[^\x20-\x7e]|["\\]/g, (ch) => {
    if (ch === '"' || ch === '\\') return `\\${ch}`;
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}${value.length > max ? `..." (${value.length} characters)` : '"'}`;
}

/** An identifier that breaks the rule above. Nothing was written. */
export class InvalidIdError extends InvalidInputError {
  constructor(
    readonly kind: IdKind,
    readonly value: string,
  ) {
    super(`${kind} id ${printable(value)}`, [ID_RULE]);
  }
}

/** The identifier, or InvalidIdError. Use at every entry point (library call, CLI, config, payload). */
export function parseId(kind: IdKind, value: unknown): Id {
  const r = IdSchema.safeParse(value);
  if (!r.success) throw new InvalidIdError(kind, typeof value === 'string' ? value : String(value));
  return r.data;
}

export function isId(value: unknown): value is Id {
  return IdSchema.safeParse(value).success;
}
