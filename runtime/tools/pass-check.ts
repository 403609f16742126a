/**
 * `doorway pass check --config FILE [--json] IMAGE...`: reads the QR code in each image and judges the
 * pass exactly as the terminal would at its door now: the same decoder and options, the pinned hub key,
 * the revocations in its roster and the uses counted in its sync file (read only; nothing is counted).
 * Without the terminal's data (no roster yet) a pass is `no-roster`, as at the door.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { silentLogger } from '../../core/log';
import { decodeImage } from '../../models/decode';
import { loadConfig } from '../config';
import { parseCli, type CliIo } from '../command-line';
import { QrDecoder } from '../pass/qr-decoder';
import { checkPassText, type PassRevocations } from '../pass/scanner';
import { isPassText } from '../protocol/pass';
import { RosterStore } from '../roster/store';
import { InvalidInputError } from '../../core/errors';

const Args = z.strictObject({
  config: z.string().min(1),
  json: z.boolean().default(false),
  positionals: z.array(z.string().min(1)).min(1, 'give at least one image file'),
});

export interface PassCheckLine {
  file: string;
  valid: boolean;
  /** A deny reason (runtime/pass/rules.ts), `no-qr-code`, `not-a-pass` or `unreadable`; null when valid. */
  reason: string | null;
  passId: string | null;
  /** The pass's doors, and its buildings as `building:ID`. */
  doors: string[] | null;
  notAfter: string | null;
}

export async function passCheckCommand(args: string[], io: CliIo): Promise<number> {
  if (args[0] !== 'check') throw new InvalidInputError('pass', ['expected: doorway pass check --config FILE [--json] IMAGE...']);
  const a = parseCli('pass check', args.slice(1), { config: { type: 'string' }, json: { type: 'boolean' } }, Args);
  const config = loadConfig(a.config);
  if (!config.hub) throw new InvalidInputError('pass check', ['the config pins no hub key (no hub section): no pass can be verified']);
  const hubKey = createPublicKey(readFileSync(config.hub.hubPublicKeyFile));
  const rosterFile = join(config.paths.dataDir, 'roster.db');
  const syncFile = join(config.paths.dataDir, 'sync.db');
  const store = existsSync(rosterFile) ? RosterStore.open({ path: rosterFile, secretFile: config.paths.secretFile, logger: silentLogger() }) : null;
  const sync = existsSync(syncFile) ? new Database(syncFile, { readonly: true, fileMustExist: true }) : null;
  const hasUses = sync?.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pass_use'").get() !== undefined;
  const uses = (id: string): number => (sync && hasUses ? ((sync.prepare('SELECT uses FROM pass_use WHERE pass_id = ?').get(id) as { uses: number } | undefined)?.uses ?? 0) : 0);
  const revocations: PassRevocations = store ?? { revocationsKnown: () => false, isPassRevoked: () => false };
  const decoder = await QrDecoder.load();
  let failed = 0;
  try {
    for (const file of a.positionals) {
      const line: PassCheckLine = { file, valid: false, reason: null, passId: null, doors: null, notAfter: null };
      try {
        const texts = decoder.decode(await decodeImage(file)).map((r) => r.text);
        const text = texts.find(isPassText);
        if (text === undefined) line.reason = texts.length > 0 ? 'not-a-pass' : 'no-qr-code';
        else {
          const v = checkPassText(text, hubKey, { now: Date.now(), doorId: config.door.doorId, buildingId: config.door.buildingId, revocations, usesSoFar: uses });
          const p = v.pass;
          line.valid = v.ok;
          line.reason = v.ok ? null : v.reason;
          line.passId = v.ok ? v.pass.passId : v.passId;
          if (p) {
            line.doors = [...p.doors, ...p.buildings.map((b) => `building:${b}`)];
            line.notAfter = new Date(p.notAfter).toISOString();
          }
        }
      } catch (e) {
        line.reason = 'unreadable';
        io.err(`doorway pass check: ${file}: ${(e as Error).message}`);
      }
      if (!line.valid) failed++;
      io.out(a.json ? JSON.stringify(line) : `${file}: ${line.valid ? 'VALID' : `INVALID (${line.reason ?? ''})`}${line.passId ? ` pass ${line.passId}` : ''}${line.doors ? ` for ${line.doors.join(', ')}` : ''}${line.notAfter ? ` until ${line.notAfter}` : ''}`);
    }
  } finally {
    store?.close();
    sync?.close();
  }
  return failed > 0 ? 1 : 0;
}
