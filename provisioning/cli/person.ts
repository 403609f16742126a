/**
 * `provision person register|approve|add|update|revoke|list|show|import|credentials|reset-adaptation|export|erase|erasure-status|unused|confirm`: residents, through
 * the hub's API (/api/residents; an admin, a manager within their buildings, root; an auditor reads).
 * Photos are read here and sent (base64); the hub enrols them with its face pipeline.
 */
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { InvalidInputError, TerminalError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId, printable } from '../../runtime/protocol/ids';
import { readImportFile, type ImportRowResult } from '../admin/persons';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../core/fs';
import type { ErasureReport, ErasureStatus } from '../admin/erasure';
import type { Access, Resident } from '../api/client';
import { common, commonSchema, list, personLine, photosIn, positionals, shown, time, type Command } from './common';
import { connect, type CliHubClient } from './connect';
import { localPhotoRefusal } from './photos';
import { confirmCommand, unusedCommand } from './unused';

const accessOptions = {
  doors: { type: 'string', multiple: true },
  buildings: { type: 'string', multiple: true },
  from: { type: 'string' },
  until: { type: 'string' },
  hours: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];
const accessSchema = {
  doors: z.array(z.string()).optional(),
  buildings: z.array(z.string()).optional(),
  from: z.string().max(40).optional(),
  until: z.string().max(40).optional(),
  hours: z.array(z.string().max(40)).optional(),
};

/** Access options as the API takes them, the ids checked here. */
function accessOf(o: { doors?: string[] | undefined; buildings?: string[] | undefined; from?: string | undefined; until?: string | undefined; hours?: string[] | undefined }): Access {
  const doors = list(o.doors);
  const buildings = list(o.buildings);
  return {
    ...(doors ? { doors: doors.map((d) => parseId('door', d)) } : {}),
    ...(buildings ? { buildings: buildings.map((b) => parseId('building', b)) } : {}),
    ...(o.from ? { from: o.from } : {}),
    ...(o.until ? { until: o.until } : {}),
    ...(o.hours ? { hours: o.hours } : {}),
  };
}

/** Every resident (the API pages them), with `status` if given. */
async function allResidents(hub: CliHubClient, status: Resident['status'] | undefined): Promise<Resident[]> {
  const out: Resident[] = [];
  for (let page = 1; ; page++) {
    const r = await hub.residents.list({ page, pageSize: 200, ...(status ? { status } : {}) });
    out.push(...r.items);
    if (out.length >= r.total || r.items.length === 0) return out;
  }
}

export const personCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  if (sub === 'credentials') return credentialsCommand(rest, io);
  if (sub === 'unused') return unusedCommand(rest, io);
  if (sub === 'confirm') return confirmCommand(rest, io);
  const o = parseCli(`person ${sub ?? ''}`, rest, {
    ...common, ...accessOptions, id: { type: 'string' }, photo: { type: 'string', multiple: true }, label: { type: 'string' }, reason: { type: 'string' },
    status: { type: 'string' }, json: { type: 'boolean' }, 'no-face': { type: 'boolean' }, out: { type: 'string' }, confirm: { type: 'boolean' },
  }, z.strictObject({
    ...commonSchema, ...accessSchema, id: z.string().optional(), photo: z.array(z.string()).optional(), label: z.string().max(200).optional(), reason: z.string().max(500).optional(),
    status: z.enum(['pending', 'active', 'revoked']).optional(), json: z.boolean().optional(), 'no-face': z.boolean().optional(),
    out: z.string().min(1).max(4096).optional(), confirm: z.boolean().optional(),
  }));
  const pmax = ({ register: 1, add: 1, approve: 1, update: 1, revoke: 1, 'reset-adaptation': 1, list: 0, show: 1, import: 1, export: 1, erase: 1, 'erasure-status': 1 } as Record<string, number>)[sub ?? ''];
  if (pmax !== undefined) positionals(`person ${sub ?? ''}`, o.positionals, pmax);
  const idArg = (): string => {
    const id = o.positionals[0] ?? o.id;
    if (!id) throw new InvalidInputError(`person ${sub ?? ''}`, ['give the person id']);
    return parseId('person', id);
  };
  switch (sub ?? '') {
    case 'register':
    case 'add': {
      const id = idArg();
      const access = accessOf(o);
      const noFace = o['no-face'] ?? false;
      const files = o.photo ?? [];
      const photos = noFace && files.length === 0 ? [] : photosIn(files);
      const hub = await connect(o.dir);
      const p = await localPhotoRefusal(files, hub.residents.add({ id, photos, noFace, ...(o.label ? { label: o.label } : {}), ...(sub === 'register' ? { pending: true } : access) }));
      const face = noFace ? 'no face (declined): give a card or PIN with person credentials' : `${p.templates} template(s)`;
      io.out(`${p.personId}: ${p.status} with ${face}${p.status === 'active' ? '; the hub publishes it to the doors' : '; waiting for approval'}`);
      return 0;
    }
    case 'approve': {
      const id = idArg();
      const p = await (await connect(o.dir)).residents.approve(id, accessOf(o));
      io.out(`${p.personId}: approved; the hub publishes it to the doors`);
      return 0;
    }
    case 'update': {
      const id = idArg();
      const files = o.photo ?? [];
      const change = { ...accessOf(o), ...(files.length ? { photos: photosIn(files) } : {}), ...(o.label ? { label: o.label } : {}) };
      const p = await localPhotoRefusal(files, (await connect(o.dir)).residents.change(id, change));
      io.out(personLine(p));
      return 0;
    }
    case 'revoke': {
      const id = idArg();
      const p = await (await connect(o.dir)).residents.revoke(id, o.reason);
      io.out(`${p.personId}: revoked; templates and photos deleted from the hub, terminals delete theirs when the revoke arrives`);
      return 0;
    }
    case 'reset-adaptation': {
      const r = await (await connect(o.dir)).residents.resetAdaptation(idArg());
      io.out(o.json ? JSON.stringify(r, null, 2) : `${r.personId}: ${r.deleted} adapted template(s) deleted from the hub; adaptation.reset queued for ${r.commands} terminal(s)`);
      return 0;
    }
    case 'export': {
      const id = idArg();
      const x = await (await connect(o.dir)).persons.export(id);
      const text = `${JSON.stringify(x, null, 2)}\n`;
      if (o.out) {
        writeExport(o.out, text);
        io.out(`${x.person.personId}: written to ${printable(o.out, 200)} (${x.photos.length} photo(s), ${x.events.length} event(s), ${x.audit.length} audit row(s))`);
      } else io.out(text.trimEnd());
      return 0;
    }
    case 'erase': {
      const id = idArg();
      if (!o.confirm) throw new InvalidInputError('person erase', [`erasing ${id} deletes everything held about them and cannot be undone: add --confirm`]);
      const r = await (await connect(o.dir)).persons.erase(id);
      io.out(o.json ? JSON.stringify(r, null, 2) : erasureLines(r).join('\n'));
      return 0;
    }
    case 'erasure-status': {
      const r = await (await connect(o.dir)).persons.erasureStatus(idArg());
      io.out(o.json ? JSON.stringify(r, null, 2) : statusLines(r).join('\n'));
      return 0;
    }
    case 'list': {
      const ps = await allResidents(await connect(o.dir), o.status);
      if (o.json) io.out(JSON.stringify(ps, null, 2));
      else for (const p of ps) io.out(personLine(p));
      return 0;
    }
    case 'show': {
      const p = await (await connect(o.dir)).residents.show(idArg());
      io.out(o.json ? JSON.stringify(p, null, 2) : `${personLine(p)}\ncreated ${time(p.createdAt)} updated ${time(p.updatedAt)}`);
      return 0;
    }
    case 'import': {
      const file = o.positionals[0];
      if (!file) throw new InvalidInputError('person import', ['give the CSV file']);
      const rows = readImportFile(file);
      const hub = await connect(o.dir);
      const tty = process.stderr.isTTY;
      const results: ImportRowResult[] = [];
      for (const row of rows) {
        const r: ImportRowResult = { line: row.line, id: row.id, ok: false };
        try {
          const { id, photos, ...access } = row.input;
          await localPhotoRefusal(photos, hub.residents.add({ id: parseId('person', id), photos: photosIn(photos), ...accessOf(access) }));
          r.ok = true;
        } catch (e) {
          if (!(e instanceof TerminalError)) throw e;
          r.error = e.message;
        }
        results.push(r);
        const done = results.length;
        const width = 30;
        const filled = Math.round((done / Math.max(1, rows.length)) * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${rows.length}`;
        if (tty) process.stderr.write(`\r${bar}${done === rows.length ? '\n' : ''}`);
        else if (done === rows.length || done % 50 === 0) io.err(bar);
        if (!r.ok && !o.json) io.err(`${tty ? '\r' : ''}line ${r.line} ${shown(r.id)}: ${r.error ?? 'failed'}`);
      }
      const failed = results.filter((r) => !r.ok);
      if (o.json) io.out(JSON.stringify(results, null, 2));
      else {
        for (const r of results) io.out(`line ${r.line}\t${shown(r.id)}\t${r.ok ? 'added' : `FAILED: ${r.error ?? ''}`}`);
        io.out(`${results.length - failed.length} added, ${failed.length} failed`);
      }
      return failed.length > 0 ? 1 : 0;
    }
    default:
      throw new InvalidInputError('person', ['expected register, approve, add, update, revoke, list, show, import, credentials, reset-adaptation, export, erase, erasure-status, unused or confirm']);
  }
};

/** An export holds biometric data and photos: written 0600, atomically, never over a file that exists. */
function writeExport(file: string, text: string): void {
  if (existsSync(file)) throw new InvalidInputError('person export', [`${printable(file, 200)} exists already: give a new file`]);
  writeFileAtomic(file, text, 0o600);
}

function statusLines(s: ErasureStatus): string[] {
  return [
    `${s.personId}: ${s.kind === 'erase' ? 'erased' : 'revoked'} by ${s.requestedBy} at ${time(s.requestedAt)}`,
    s.tombstoneVersion === null ? 'tombstone: not yet published by the hub' : `tombstone: roster version ${s.tombstoneVersion}; ${s.compactedDeltas ?? 0} older delta(s) holding the person deleted`,
    `terminals confirmed (${s.confirmed.length}): ${s.confirmed.map((c) => c.terminalId).join(' ') || '-'}`,
    `terminals pending (${s.pending.length}): ${s.pending.join(' ') || '-'}`,
  ];
}

function erasureLines(r: ErasureReport): string[] {
  const h = r.deleted.hubDb;
  return [
    `${r.personId}: erased`,
    `hub.db: ${h.templates} template(s), label ${h.label ? 'deleted' : 'none'}, note ${h.note ? 'deleted' : 'none'}, credentials ${h.credentials ? 'deleted' : 'none'}, ${h.registrations} registration(s), ${h.alerts} sighting(s), ${h.adaptedTemplates} adapted template(s), ${h.passLabels} pass label(s), ${h.auditRowsScrubbed} audit row(s) reduced to the fact; tombstone ${h.tombstone}`,
    `photos: ${r.deleted.photos} file(s) deleted`,
    `events.db: ${r.deleted.eventsDb} event(s) deleted`,
    `write-ahead logs truncated: hub.db ${r.reclaimed.hubDb.walTruncated ? 'yes' : 'no (at the next erasure)'}, events.db ${r.reclaimed.eventsDb ? (r.reclaimed.eventsDb.walTruncated ? 'yes' : 'no') : 'none'}`,
    ...statusLines(r.status).slice(1),
  ];
}

async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

/** `provision person credentials ID [--card FAC:NUM]... [--no-cards] [--pin-stdin] [--no-pin]`. */
const credentialsCommand: Command = async (args, io) => {
  const o = parseCli('person credentials', args,
    { ...common, card: { type: 'string', multiple: true }, 'no-cards': { type: 'boolean' }, 'pin-stdin': { type: 'boolean' }, 'no-pin': { type: 'boolean' } },
    z.strictObject({ ...commonSchema, card: z.array(z.string().regex(/^\d{1,5}:\d{1,5}$/, 'FACILITY:NUMBER')).optional(), 'no-cards': z.boolean().optional(), 'pin-stdin': z.boolean().optional(), 'no-pin': z.boolean().optional() }));
  positionals('person credentials', o.positionals, 1);
  const given = o.positionals[0];
  if (!given) throw new InvalidInputError('person credentials', ['give the person id']);
  const id = parseId('person', given);
  const input: { cards?: Array<[number, number]>; pin?: string | null; duressPin?: string | null } = {};
  if (o.card) input.cards = o.card.map((x) => x.split(':').map(Number) as [number, number]);
  if (o['no-cards']) input.cards = [];
  if (o['no-pin']) {
    input.pin = null;
    input.duressPin = null;
  }
  if (o['pin-stdin']) {
    const [pin, duress] = await readStdinLines();
    if (!pin) throw new InvalidInputError('person credentials', ['--pin-stdin: no PIN on standard input']);
    input.pin = pin;
    if (duress) input.duressPin = duress;
  }
  const p = await (await connect(o.dir)).residents.setCredentials(id, input);
  io.out(`${p.personId}: ${p.cards} card(s), PIN ${p.pin ? 'set' : 'none'}, duress PIN ${p.duressPin ? 'set' : 'none'}; published to the doors by the hub`);
  return 0;
};
