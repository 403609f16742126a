/**
 * `provision person register|approve|add|update|revoke|list|show|import|credentials|reset-adaptation`
 * (provisioning/admin/persons.ts, registrations.ts, credentials.ts, adaptation.ts).
 */
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { resetAdaptation } from '../admin/adaptation';
import { setCredentials, type SetCredentialsInput } from '../admin/credentials';
import type { Enroller } from '../admin/enrol';
import { addPerson, getPerson, importPersons, listPersons, revokePerson, updatePerson } from '../admin/persons';
import { approvePerson, registerPerson } from '../admin/registrations';
import type { PersonRecord } from '../db';
import { adminContext, common, commonSchema, list, personLine, positionals, shown, time, withCommunity, withEnroller, type Command } from './common';

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
  from: z.string().optional(),
  until: z.string().optional(),
  hours: z.array(z.string()).optional(),
};

/** The enroller of a person without a face: never asked for templates. */
const NO_FACES: Enroller = { templates: () => Promise.reject(new InvalidInputError('person', ['no photo is enrolled for a person without a face'])) };

export const personCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  if (sub === 'credentials') return credentialsCommand(rest, io);
  const o = parseCli(`person ${sub ?? ''}`, rest, {
    ...common, ...accessOptions, id: { type: 'string' }, photo: { type: 'string', multiple: true }, label: { type: 'string' }, reason: { type: 'string' },
    status: { type: 'string' }, json: { type: 'boolean' }, 'no-face': { type: 'boolean' }, all: { type: 'boolean' },
  }, z.strictObject({
    ...commonSchema, ...accessSchema, id: z.string().optional(), photo: z.array(z.string()).optional(), label: z.string().optional(), reason: z.string().optional(),
    status: z.enum(['pending', 'active', 'revoked']).optional(), json: z.boolean().optional(), 'no-face': z.boolean().optional(), all: z.boolean().optional(),
  }));
  const pmax = ({ register: 1, add: 1, approve: 1, update: 1, revoke: 1, list: 0, show: 1, import: 1, 'reset-adaptation': 1 } as Record<string, number>)[sub ?? ''];
  if (pmax !== undefined) positionals(`person ${sub ?? ''}`, o.positionals, pmax);
  const access = {
    ...(list(o.doors) ? { doors: list(o.doors) } : {}),
    ...(list(o.buildings) ? { buildings: list(o.buildings) } : {}),
    ...(o.from ? { from: o.from } : {}),
    ...(o.until ? { until: o.until } : {}),
    ...(o.hours ? { hours: o.hours } : {}),
  };
  const idArg = (): string => {
    const id = o.positionals[0] ?? o.id;
    if (!id) throw new InvalidInputError(`person ${sub ?? ''}`, ['give the person id']);
    return id;
  };
  return withCommunity(o.dir, async (c) => {
    const ctx = adminContext(c, o.as);
    switch (sub ?? '') {
      case 'register':
      case 'add': {
        const id = idArg();
        const noFace = o['no-face'] ?? false;
        const enrol = (enroller: Enroller): Promise<PersonRecord> =>
          sub === 'add'
            ? addPerson({ ...ctx, enroller }, { id, photos: o.photo ?? [], noFace, ...access, ...(o.label ? { label: o.label } : {}) })
            : registerPerson({ ...ctx, enroller }, { id, photos: o.photo ?? [], noFace, ...(o.label ? { label: o.label } : {}) });
        // No face: the models are not loaded at all.
        const p = noFace ? await enrol(NO_FACES) : await withEnroller(enrol);
        const face = noFace ? 'no face (declined): give a card or PIN with person credentials' : `${p.templates.length} template(s) (model ${p.templates[0]?.modelId ?? '-'})`;
        io.out(`${p.personId}: ${p.status} with ${face}${p.status === 'active' ? '; the hub publishes it to the doors' : '; waiting for approval'}`);
        return 0;
      }
      case 'approve': {
        const p = approvePerson(ctx, { id: idArg(), ...access });
        io.out(`${p.personId}: approved; the hub publishes it to the doors`);
        return 0;
      }
      case 'update': {
        const input = { id: idArg(), ...access, ...(o.photo ? { photos: o.photo } : {}), ...(o.label ? { label: o.label } : {}) };
        const p = o.photo ? await withEnroller((enroller) => updatePerson({ ...ctx, enroller }, input)) : await updatePerson(ctx, input);
        io.out(personLine(p));
        return 0;
      }
      case 'revoke': {
        const p = revokePerson(ctx, { id: idArg(), ...(o.reason ? { reason: o.reason } : {}) });
        io.out(`${p.personId}: revoked; templates and photos deleted from the hub, terminals delete theirs when the revoke arrives`);
        return 0;
      }
      case 'reset-adaptation': {
        const one = o.positionals[0] ?? o.id;
        if ((one === undefined) === !o.all) throw new InvalidInputError('person reset-adaptation', ['give the person id, or --all for every person']);
        const r = resetAdaptation(ctx, one === undefined ? {} : { personId: one });
        const templates = r.persons.reduce((n, p) => n + p.deleted, 0);
        io.out(o.json ? JSON.stringify(r, null, 2) : `${one ?? 'every person'}: ${templates} adapted template(s) deleted from the hub (${r.persons.length} person(s) published again); adaptation.reset queued for ${r.commands.length} terminal(s)`);
        return 0;
      }
      case 'list': {
        const ps = listPersons(ctx, o.status ? { status: o.status } : {});
        if (o.json) io.out(JSON.stringify(ps.map(({ templates, photos, ...rest }) => ({ ...rest, templates: templates.length, photos: photos.length })), null, 2));
        else for (const p of ps) io.out(personLine(p));
        return 0;
      }
      case 'show': {
        const p = getPerson(ctx, { id: idArg() });
        const view = { ...p, templates: p.templates.map((t) => ({ templateId: t.templateId, modelId: t.modelId })), photos: p.photos.length };
        io.out(o.json ? JSON.stringify(view, null, 2) : `${personLine(p)}\ncreated ${time(p.createdAt)} updated ${time(p.updatedAt)}${p.note ? `\nnote: ${p.note}` : ''}`);
        return 0;
      }
      case 'import': {
        const file = o.positionals[0];
        if (!file) throw new InvalidInputError('person import', ['give the CSV file']);
        const tty = process.stderr.isTTY;
        const results = await withEnroller((enroller) =>
          importPersons({ ...ctx, enroller }, {
            file,
            onRow: (r, done, total) => {
              const width = 30;
              const filled = Math.round((done / Math.max(1, total)) * width);
              const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
              if (tty) process.stderr.write(`\r${bar}${done === total ? '\n' : ''}`);
              else if (done === total || done % 50 === 0) io.err(bar);
              if (!r.ok && !o.json) io.err(`${tty ? '\r' : ''}line ${r.line} ${shown(r.id)}: ${r.error ?? 'failed'}`);
            },
          }));
        const failed = results.filter((r) => !r.ok);
        if (o.json) io.out(JSON.stringify(results, null, 2));
        else {
          for (const r of results) io.out(`line ${r.line}\t${shown(r.id)}\t${r.ok ? 'added' : `FAILED: ${r.error ?? ''}`}`);
          io.out(`${results.length - failed.length} added, ${failed.length} failed`);
        }
        return failed.length > 0 ? 1 : 0;
      }
      default:
        throw new InvalidInputError('person', ['expected register, approve, add, update, revoke, list, show, import or credentials']);
    }
  });
};

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
  const id = o.positionals[0];
  if (!id) throw new InvalidInputError('person credentials', ['give the person id']);
  const input: SetCredentialsInput = { id };
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
  return withCommunity(o.dir, async (c) => {
    const p = await setCredentials(adminContext(c, o.as), input);
    io.out(`${p.personId}: ${p.credentials?.cards.length ?? 0} card(s), PIN ${p.credentials?.pin ? 'set' : 'none'}, duress PIN ${p.credentials?.duressPin ? 'set' : 'none'}; published to the doors by the hub`);
    return 0;
  });
};
