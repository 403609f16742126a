/**
 * `provision` command line: community, terminals, residents, alerts, fleet, and the hub service.
 * Every command finds the community through --dir DIR or PROVISION_DIR; keys are unlocked with
 * PROVISION_PASSPHRASE when set, otherwise a prompt on the terminal. Results go to stdout (--json
 * where it helps scripts), errors to stderr with a non-zero exit status.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { FacePipeline } from '../models/pipeline';
import { commandLine, parseCli, type CliIo } from '../runtime/command-line';
import { InvalidInputError } from '../core/errors';
import { createLogger } from '../core/log';
import { addAlert, clearAlert, listAlerts } from './alerts';
import { BrokerProcess, writeBrokerConfig } from './broker';
import { Community, initCommunity, WebhookUrlSchema } from './community';
import type { PersonRecord } from './db';
import { dueCertificates, renewBrokerCertificate, renewHubCertificate, renewTerminalCertificate } from './certificates';
import { awaitCommands, eventsTailStart, fleetStatus, infrastructureCertificates, queueCommand, readEvents, type StoredEvent } from './fleet';
import { addPerson, approvePerson, getPerson, importPersons, lazyPipelineEnroller, registerPerson, revokePerson, updatePerson, type Enroller } from './persons';
import { isId, parseId, printable } from '../runtime/protocol/ids';
import { HubService } from './service';
import { addTerminal, BUNDLE_FILES, revokeTerminal } from './terminals';
import { buildBundle } from './update/build';
import { ensureUpdateKey } from './update/keys';
import { SystemClock } from '../core/clock';
import { IdSchema } from '../runtime/protocol/ids';
import { NoRealNameCheck, SkippedRealNameCheck } from './api/realname';
import { HubApi } from './api/server';
import { defaultHttpNames, httpTls, issueHttpCertificate } from './api/tls';
import { operatorCommand } from './cli/operator';
import { OperatorAccounts } from './operators/accounts';
import { AuthConfigSchema } from './operators/config';
import { ensureRootKey } from './operators/root';
import { ROOT_OPERATOR } from './operators/roles';
import { issuePass, revokePass, writePassImage } from './passes';
import { setCredentials, type SetCredentialsOptions } from './credentials';

const USAGE = `usage: provision <command> [options]   (every command: --dir DIR or PROVISION_DIR, --as NAME for the audit log)

community
  init [--name N] [--broker-url mqtts://HOST:PORT] [--broker-host IP:x|DNS:y]... [--time-zone TZ] [--webhook URL]
       [--admin ID] [--http-host IP:x|DNS:y]...    also the first admin (one-time password printed) and the API's certificate
  broker config [--listen HOST] [--user U]      write mosquitto.conf + ACL + CRL paths for the terminal list
  broker run [--listen HOST]                    run mosquitto on that configuration
  broker renew                                  renew the broker's server certificate (397 days) and reload the broker
  hub [--webhook URL] [--poll-ms MS] [--http HOST:PORT [--auth-config FILE] [--real-name-check off]]
                                                run the hub service (publish, ingest, alerts, commands, renewals);
                                                --http: also its HTTPS API (provisioning/api/README.md)
  hub renew                                     renew the hub's certificate (90 days; the running hub does it itself)
  audit [--json] [-n N]                         who did what, when
operators (bootstrap and recovery, as root; everyday: the hub's API)
  operator add --id ID --role admin|security|manager|auditor [--buildings b-1,b-2]   prints a one-time password
  operator list [--json] | operator disable ID | operator reset-password ID
terminals
  terminal add --id ID --door DOOR [--building B] --out DIR [--camera RTSP_URL]
  terminal revoke ID
  terminal wipe ID --yes [--wait S]              erase every face template and person on that terminal (stolen,
                                                decommissioned); its door recognises nobody until a resync
  terminal resync ID [--wait S]                  the terminal fetches a full roster snapshot (also ends a wipe)
  terminal renew (ID... | --due) [--out DIR]     renew certificates (90 days; the running hub renews them 30 days before
                                                expiry and sends them to the terminals); --out: also write device.crt
  terminal list [--json]
residents
  person register --id ID --photo A.jpg [--photo B.jpg] [--label L]        a tenant's registration (pending)
  person approve ID --doors D1,D2 [--buildings B] [--from DATE] [--until DATE] [--hours "mon-fri 07:00-22:00"]...
  person add --id ID --photo A.jpg [--photo ...] --doors ... [--from --until --hours --label]   both steps at once
  person add --id ID --no-face --doors ... [...]  a resident who declines face enrolment (register takes --no-face
                                                too): no photo, no template; give a card or PIN with person credentials
  person update ID [--doors ...] [--buildings ...] [--from] [--until] [--hours ...] [--photo ...] [--label]
  person revoke ID [--reason TEXT]
  person list [--status pending|active|revoked] [--json]
  person show ID [--json]
  person import FILE.csv [--json]               columns id,photos,doors[,buildings,from,until,hours,label]; lists use ";"
  person credentials ID [--card FAC:NUM]... [--no-cards] [--pin-stdin] [--no-pin]
                                                cards and PINs (only digests are kept); --pin-stdin reads the PIN
                                                and, on a second line, an optional duress PIN
passes
  pass issue --door D [--door D2] [--building B] [--valid-for 2h] [--from ISO] [--uses N] [--label L] --out pass.png|.svg
                                                a signed visitor pass as a QR code (prints its id and QR version)
  pass revoke ID                                refused at every door from the next roster version on
  pass list [--json]
alerts
  alert add --tag TAG (--photo P.jpg... | --person ID) [--note TEXT]
  alert clear --tag TAG
  alert list [--tag TAG] [--json]
fleet
  fleet status [--json]
  door unlock ID [--seconds S]                  ID: a door or terminal id; signed, expiring command
  config push [--terminal ID]                   ask terminals to reload their configuration
  events tail [-n N] [--follow] [--json]
updates (provisioning/update/README.md)
  update build --from DIR --version V --replaces V1,V2 --out FILE [--arch arm64|x64] [--json]
                                                a signed bundle of a built runtime folder (update key made on first use)
  update key [--json]                           the update key's public half (made on first use) for terminal configs`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const common = {
  dir: { type: 'string' },
  as: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const commonSchema = {
  dir: z.string().min(1).optional(),
  as: z.string().min(1).max(64).optional(),
  positionals: z.array(z.string()),
};

function communityDir(dir: string | undefined): string {
  const d = dir ?? process.env['PROVISION_DIR'];
  if (!d) throw new InvalidInputError('community', ['give --dir DIR or set PROVISION_DIR']);
  return d;
}

/** PROVISION_PASSPHRASE, or a prompt (input not echoed) when stdin is a terminal. */
export async function readPassphrase(prompt = 'community passphrase: '): Promise<string> {
  const env = process.env['PROVISION_PASSPHRASE'];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new InvalidInputError('passphrase', ['set PROVISION_PASSPHRASE (no terminal to prompt on)']);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlMuted = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  rlMuted._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

const list = (v: string[] | undefined): string[] | undefined => (v === undefined ? undefined : v.flatMap((x) => x.split(',')).map((s) => s.trim()).filter(Boolean));

/** The enroller of a person without a face: never asked for templates. */
const NO_FACES: Enroller = { templates: () => Promise.reject(new InvalidInputError('person', ['no photo is enrolled for a person without a face'])) };

/** The face pipeline, loaded only when a photo is actually enrolled (bad input is refused before). */
async function withEnroller<T>(f: (e: Enroller) => Promise<T>): Promise<T> {
  const e = lazyPipelineEnroller(() => FacePipeline.load());
  try {
    return await f(e);
  } finally {
    await e.close();
  }
}

/** An id from a file as it may be shown on one line: as is when it is an id, quoted and escaped otherwise. */
const shown = (id: string): string => (id === '' ? '(no id)' : isId(id) ? id : printable(id));

/** Positional arguments beyond `max` are refused, not ignored. */
function positionals(what: string, given: string[], max: number): string[] {
  if (given.length > max) throw new InvalidInputError(`${what} arguments`, [`unexpected ${printable(given[max] ?? '')}${max === 0 ? ': this command takes only options' : ''}`]);
  return given;
}

async function withCommunity<T>(dir: string | undefined, f: (c: Community) => T | Promise<T>): Promise<T> {
  const c = Community.open(communityDir(dir));
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

function personLine(p: PersonRecord): string {
  const a = p.authorisations[0];
  const access = a ? `doors=${a.doorIds.join(',') || '-'} buildings=${a.buildingIds.join(',') || '-'}${a.validFrom ? ` from=${a.validFrom}` : ''}${a.validUntil ? ` until=${a.validUntil}` : ''}${a.windows ? ` hours=${a.windows.map((w) => `${w.days.join(',')} ${w.start}-${w.end}`).join(';')}` : ''}` : 'no access';
  return `${p.personId}\t${p.kind}\t${p.status}\t${access}\ttemplates=${p.templates.length}${p.tags.length ? `\ttags=${p.tags.join(',')}` : ''}${p.publishedRev < p.rev ? '\t(not yet published)' : ''}`;
}

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

// ------------------------------------------------------------------------------------------- commands

const initCommand: Command = async (args, io) => {
  const o = parseCli('init', args, {
    ...common,
    name: { type: 'string' },
    'broker-url': { type: 'string' },
    'broker-host': { type: 'string', multiple: true },
    'time-zone': { type: 'string' },
    webhook: { type: 'string' },
    admin: { type: 'string' },
    'http-host': { type: 'string', multiple: true },
  }, z.strictObject({ ...commonSchema, name: z.string().optional(), 'broker-url': z.string().optional(), 'broker-host': z.array(z.string()).optional(), 'time-zone': z.string().optional(), webhook: z.string().optional(),
    admin: IdSchema.optional(), 'http-host': z.array(z.string().regex(/^(IP:[0-9A-Fa-f.:]+|DNS:[A-Za-z0-9*.-]+)$/, 'IP:ADDRESS or DNS:NAME')).optional() }));
  positionals('init', o.positionals, 0);
  const dir = communityDir(o.dir);
  const passphrase = await readPassphrase('new community passphrase: ');
  const c = initCommunity({
    dir,
    passphrase,
    ...(o.name ? { name: o.name } : {}),
    ...(o['broker-url'] ? { brokerUrl: o['broker-url'] } : {}),
    ...(o['broker-host'] ? { brokerAltNames: o['broker-host'] } : {}),
    ...(o['time-zone'] ? { timeZone: o['time-zone'] } : {}),
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    ...(o.as ? { actor: o.as } : {}),
  });
  io.out(`community "${c.config.name}" created in ${c.paths.dir} (broker ${c.config.brokerUrl})`);
  try {
    // Operators: the root request key (the passphrase's), the API's certificate, the first admin.
    ensureRootKey(c, passphrase);
    const names = o['http-host'] ?? defaultHttpNames(c);
    issueHttpCertificate(c, passphrase, names, ROOT_OPERATOR, Date.now());
    const admin = await new OperatorAccounts(c.db, new SystemClock()).add({ id: o.admin ?? 'admin', role: 'admin' }, { id: ROOT_OPERATOR });
    io.out(`hub API certificate for ${names.join(', ')}`);
    io.out(`first admin "${admin.operator.id}": one-time password ${admin.password} (the first login must change it)`);
  } finally {
    c.close();
  }
  return 0;
};

const terminalCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`terminal ${sub ?? ''}`, rest, { ...common, id: { type: 'string' }, door: { type: 'string' }, building: { type: 'string' }, out: { type: 'string' }, camera: { type: 'string' }, json: { type: 'boolean' }, yes: { type: 'boolean' }, wait: { type: 'string' }, due: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, id: z.string().optional(), door: z.string().optional(), building: z.string().optional(), out: z.string().optional(), camera: z.string().optional(), json: z.boolean().optional(), yes: z.boolean().optional(), wait: z.coerce.number().min(0).max(60).optional(), due: z.boolean().optional() }));
  const tmax = ({ add: 0, revoke: 1, wipe: 1, resync: 1, list: 0, renew: o.due ? 0 : Number.POSITIVE_INFINITY } as Record<string, number>)[sub ?? ''];
  if (tmax !== undefined) positionals(`terminal ${sub ?? ''}`, o.positionals, tmax);
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'add': {
        if (!o.id || !o.door || !o.out) throw new InvalidInputError('terminal add', ['--id, --door and --out are required']);
        const passphrase = await readPassphrase();
        const b = addTerminal(c, { id: o.id, doorId: o.door, out: o.out, passphrase, ...(o.building ? { buildingId: o.building } : {}), ...(o.camera ? { cameraUrl: o.camera } : {}), ...(o.as ? { actor: o.as } : {}) });
        io.out(`terminal ${o.id} (door ${o.door}) added; bundle in ${b.dir}: copy it onto the terminal's storage and run doorway run --config ${b.configFile}`);
        return 0;
      }
      case 'revoke': {
        const id = o.positionals[0] ?? o.id;
        if (!id) throw new InvalidInputError('terminal revoke', ['give the terminal id']);
        const passphrase = await readPassphrase();
        const r = revokeTerminal(c, id, { passphrase, ...(o.as ? { actor: o.as } : {}) });
        io.out(`terminal ${id} revoked: certificate on the CRL, removed from the ACL${r.broker === 'reloaded' ? ', broker reloaded' : ' (broker not running here: restart it or run provision broker config)'}`);
        return 0;
      }
      case 'wipe':
      case 'resync': {
        // One terminal by its exact id (not a door id: a wipe must not reach more terminals than named).
        const id = o.positionals[0] ?? o.id;
        if (!id) throw new InvalidInputError(`terminal ${sub}`, ['give the terminal id']);
        parseId('terminal', id);
        if (!c.db.terminals().some((t) => t.id === id && t.status === 'active')) throw new InvalidInputError(`terminal ${sub}`, [`no active terminal ${id}`]);
        if (sub === 'wipe' && !o.yes) {
          throw new InvalidInputError('terminal wipe', [`this erases every face template and person on ${id}, and its door recognises nobody until "provision terminal resync ${id}": add --yes to confirm`]);
        }
        const ids = queueCommand(c, id, sub === 'wipe' ? { type: 'wipe' } : { type: 'resync' }, o.as ? { actor: o.as } : {});
        const waitS = o.wait ?? 10;
        const r = await awaitCommands(c, ids, waitS * 1000);
        const said: Record<string, string> = { queued: waitS > 0 ? 'still queued (is the hub running?)' : 'queued: the hub signs and sends it', sent: 'sent (signed; valid for 30 s)', expired: 'expired before the hub could send it', refused: 'refused (terminal revoked)' };
        for (const x of r) io.out(`${x.terminalId}: ${sub} ${said[x.status] ?? x.status}`);
        return r.every((x) => x.status === 'sent' || (waitS === 0 && x.status === 'queued')) ? 0 : 1;
      }
      case 'renew': {
        const passphrase = await readPassphrase();
        const ids = o.due ? dueCertificates(c, Date.now()).terminals : o.positionals.map((x) => parseId('terminal', x));
        if (ids.length === 0 && !o.due) throw new InvalidInputError('terminal renew', ['give terminal ids or --due']);
        for (const id of ids) {
          const r = renewTerminalCertificate(c, id, { passphrase, ...(o.as ? { actor: o.as } : {}) });
          if (o.out) {
            mkdirSync(join(o.out, id), { recursive: true, mode: 0o700 });
            writeFileSync(join(o.out, id, BUNDLE_FILES.cert), r.cert);
          }
          io.out(`${id}: certificate renewed until ${time(r.notAfter)}; the hub sends it to the terminal${o.out ? ` (also in ${join(o.out, id, BUNDLE_FILES.cert)})` : ''}`);
        }
        if (ids.length === 0) io.out('no terminal certificate is due for renewal');
        return 0;
      }
      case 'list': {
        const ts = c.db.terminals();
        if (o.json) io.out(JSON.stringify(ts, null, 2));
        else for (const t of ts) io.out(`${t.id}\tdoor=${t.doorId}\tbuilding=${t.buildingId}\t${t.status}\tsince ${time(t.revokedAt ?? t.createdAt)}`);
        return 0;
      }
      default:
        throw new InvalidInputError('terminal', ['expected add, revoke, wipe, resync, renew or list']);
    }
  });
};

const brokerCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`broker ${sub ?? ''}`, rest, { ...common, listen: { type: 'string' }, user: { type: 'string' } },
    z.strictObject({ ...commonSchema, listen: z.string().optional(), user: z.string().optional() }));
  positionals(`broker ${sub ?? ''}`, o.positionals, 0);
  const opts = { ...(o.listen ? { listenHost: o.listen } : {}), ...(o.user ? { user: o.user } : {}) };
  return withCommunity(o.dir, async (c) => {
    if (sub === 'config') {
      const f = writeBrokerConfig(c, opts);
      io.out(`mosquitto configuration written: ${f.conf} (ACL ${f.acl}); run: mosquitto -c ${f.conf}`);
      return 0;
    }
    if (sub === 'renew') {
      const r = renewBrokerCertificate(c, { passphrase: await readPassphrase(), ...(o.as ? { actor: o.as } : {}) });
      io.out(`broker certificate renewed until ${time(r.notAfter)}${r.broker === 'reloaded' ? ', broker reloaded' : ' (no running broker found: restart it)'}`);
      return 0;
    }
    if (sub === 'run') {
      const b = new BrokerProcess(c, opts);
      await b.start();
      io.out(`mosquitto running on port ${b.files.port} (pid ${b.pid() ?? '?'}); Ctrl-C stops it`);
      const stop = (): void => void b.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await b.exited();
      return 0;
    }
    throw new InvalidInputError('broker', ['expected config, run or renew']);
  });
};

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

const personCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  if (sub === 'credentials') return credentialsCommand(rest, io);
  const o = parseCli(`person ${sub ?? ''}`, rest, {
    ...common, ...accessOptions, id: { type: 'string' }, photo: { type: 'string', multiple: true }, label: { type: 'string' }, reason: { type: 'string' },
    status: { type: 'string' }, json: { type: 'boolean' }, 'no-face': { type: 'boolean' },
  }, z.strictObject({
    ...commonSchema, ...accessSchema, id: z.string().optional(), photo: z.array(z.string()).optional(), label: z.string().optional(), reason: z.string().optional(),
    status: z.enum(['pending', 'active', 'revoked']).optional(), json: z.boolean().optional(), 'no-face': z.boolean().optional(),
  }));
  const pmax = ({ register: 1, add: 1, approve: 1, update: 1, revoke: 1, list: 0, show: 1, import: 1 } as Record<string, number>)[sub ?? ''];
  if (pmax !== undefined) positionals(`person ${sub ?? ''}`, o.positionals, pmax);
  const actor = o.as ? { actor: o.as } : {};
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
    switch (sub ?? '') {
      case 'register':
      case 'add': {
        const id = idArg();
        const noFace = o['no-face'] ?? false;
        const run = (e: Enroller): Promise<PersonRecord> =>
          sub === 'add'
            ? addPerson(c, e, { id, photos: o.photo ?? [], noFace, ...access, ...(o.label ? { label: o.label } : {}), ...actor })
            : registerPerson(c, e, { id, photos: o.photo ?? [], noFace, ...(o.label ? { label: o.label } : {}), ...actor });
        // No face: the models are not loaded at all.
        const p = noFace ? await run(NO_FACES) : await withEnroller(run);
        const face = noFace ? 'no face (declined): give a card or PIN with person credentials' : `${p.templates.length} template(s) (model ${p.templates[0]?.modelId ?? '-'})`;
        io.out(`${p.personId}: ${p.status} with ${face}${p.status === 'active' ? '; the hub publishes it to the doors' : '; waiting for approval'}`);
        return 0;
      }
      case 'approve': {
        const p = approvePerson(c, idArg(), { ...access, ...actor });
        io.out(`${p.personId}: approved; the hub publishes it to the doors`);
        return 0;
      }
      case 'update': {
        const id = idArg();
        const run = (e: Enroller | null): Promise<PersonRecord> => updatePerson(c, e, id, { ...access, ...(o.photo ? { photos: o.photo } : {}), ...(o.label ? { label: o.label } : {}), ...actor });
        const p = o.photo ? await withEnroller(run) : await run(null);
        io.out(personLine(p));
        return 0;
      }
      case 'revoke': {
        const p = revokePerson(c, idArg(), { ...actor, ...(o.reason ? { reason: o.reason } : {}) });
        io.out(`${p.personId}: revoked; templates and photos deleted from the hub, terminals delete theirs when the revoke arrives`);
        return 0;
      }
      case 'list': {
        const ps = c.db.persons(o.status ? { status: o.status } : {});
        if (o.json) io.out(JSON.stringify(ps.map(({ templates, photos, ...rest }) => ({ ...rest, templates: templates.length, photos: photos.length })), null, 2));
        else for (const p of ps) io.out(personLine(p));
        return 0;
      }
      case 'show': {
        const p = getPerson(c, idArg());
        const view = { ...p, templates: p.templates.map((t) => ({ templateId: t.templateId, modelId: t.modelId })), photos: p.photos.length };
        io.out(o.json ? JSON.stringify(view, null, 2) : `${personLine(p)}\ncreated ${time(p.createdAt)} updated ${time(p.updatedAt)}${p.note ? `\nnote: ${p.note}` : ''}`);
        return 0;
      }
      case 'import': {
        const file = o.positionals[0];
        if (!file) throw new InvalidInputError('person import', ['give the CSV file']);
        const tty = process.stderr.isTTY;
        const results = await withEnroller((e) =>
          importPersons(c, e, file, {
            ...actor,
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
        throw new InvalidInputError('person', ['expected register, approve, add, update, revoke, list, show or import']);
    }
  });
};

const alertCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`alert ${sub ?? ''}`, rest, { ...common, tag: { type: 'string' }, photo: { type: 'string', multiple: true }, person: { type: 'string' }, note: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, tag: z.string().optional(), photo: z.array(z.string()).optional(), person: z.string().optional(), note: z.string().optional(), json: z.boolean().optional() }));
  const amax = ({ add: 0, clear: 1, list: 0 } as Record<string, number>)[sub ?? ''];
  if (amax !== undefined) positionals(`alert ${sub ?? ''}`, o.positionals, amax);
  const actor = o.as ? { actor: o.as } : {};
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'add': {
        if (!o.tag) throw new InvalidInputError('alert add', ['--tag is required']);
        const tag = o.tag;
        const opts = { tag, ...(o.person ? { personId: o.person } : {}), ...(o.photo ? { photos: o.photo } : {}), ...(o.note ? { note: o.note } : {}), ...actor };
        const p = o.photo ? await withEnroller((e) => addAlert(c, e, opts)) : await addAlert(c, null, opts);
        io.out(`alert ${tag} on ${p.personId}: published to every door by the hub`);
        return 0;
      }
      case 'clear': {
        const tag = o.tag ?? o.positionals[0];
        if (!tag) throw new InvalidInputError('alert clear', ['--tag is required']);
        const r = clearAlert(c, tag, actor);
        io.out(`alert ${tag} cleared: ${r.untagged.length} untagged, ${r.revoked.length} alert subject(s) revoked`);
        return 0;
      }
      case 'list': {
        const r = listAlerts(c, o.tag);
        if (o.json) io.out(JSON.stringify({ active: r.active.map((p) => ({ personId: p.personId, kind: p.kind, tags: p.tags, note: p.note })), sightings: r.sightings }, null, 2));
        else {
          for (const p of r.active) io.out(`active\t${p.tags.join(',')}\t${p.personId}${p.note ? `\t${p.note}` : ''}`);
          for (const s of r.sightings) io.out(`sighting\t${s.tag}\t${s.personId}\tdoor=${s.doorId}\tterminal=${s.terminalId}\tscore=${s.score.toFixed(3)}\t${time(s.at)}\twebhook=${s.webhook}`);
        }
        return 0;
      }
      default:
        throw new InvalidInputError('alert', ['expected add, clear or list']);
    }
  });
};

const fleetCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`fleet ${sub ?? ''}`, rest, { ...common, json: { type: 'boolean' } }, z.strictObject({ ...commonSchema, json: z.boolean().optional() }));
  if (sub !== 'status') throw new InvalidInputError('fleet', ['expected status']);
  positionals('fleet status', o.positionals, 0);
  return withCommunity(o.dir, (c) => {
    const rows = fleetStatus(c);
    if (o.json) {
      io.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    io.out(['terminal', 'door', 'state', 'last heartbeat', 'roster lag', 'outbox', 'fps', 'software', 'model', 'faults', 'certificate'].join('\t'));
    for (const r of rows) {
      const state = r.status === 'revoked' ? 'revoked' : r.online ? 'online' : 'offline';
      const cert = r.certificateExpiresAt === null ? '-' : `${time(r.certificateExpiresAt).slice(0, 10)}${r.certificate && r.certificate !== 'ok' ? ` (${r.certificate})` : ''}`;
      io.out([r.terminalId, r.doorId, state, time(r.lastHeartbeat), r.rosterLag ?? '-', r.outboxDepth ?? '-', r.cameraFps ?? '-', r.softwareVersion ?? '-', r.modelVersion ?? '-', r.faults?.length ? r.faults.join(',') : '-', cert].join('\t'));
    }
    for (const x of infrastructureCertificates(c)) if (x.state !== 'ok') io.out(`warning: the ${x.name} certificate ${x.state === 'expired' ? 'expired' : 'expires'} ${time(x.expiresAt)}: provision ${x.name} renew`);
    return 0;
  });
};

const doorCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`door ${sub ?? ''}`, rest, { ...common, seconds: { type: 'string' } }, z.strictObject({ ...commonSchema, seconds: z.coerce.number().int().min(1).max(60).optional() }));
  if (sub !== 'unlock' || !o.positionals[0]) throw new InvalidInputError('door', ['expected unlock DOOR_OR_TERMINAL_ID']);
  positionals('door unlock', o.positionals, 1);
  const target = o.positionals[0];
  return withCommunity(o.dir, async (c) => {
    const ids = queueCommand(c, target, { type: 'unlock', durationMs: (o.seconds ?? 5) * 1000 }, o.as ? { actor: o.as } : {});
    const r = await awaitCommands(c, ids, 10_000);
    const said = { queued: 'still queued (is the hub running?)', sent: 'sent (signed; valid for 30 s)', expired: 'expired before the hub could send it', refused: 'refused (terminal revoked)' } as Record<string, string>;
    for (const x of r) io.out(`${x.terminalId}: unlock ${said[x.status] ?? x.status}`);
    return r.every((x) => x.status === 'sent') ? 0 : 1;
  });
};

const configCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`config ${sub ?? ''}`, rest, { ...common, terminal: { type: 'string' } }, z.strictObject({ ...commonSchema, terminal: z.string().optional() }));
  if (sub !== 'push') throw new InvalidInputError('config', ['expected push']);
  positionals('config push', o.positionals, 0);
  return withCommunity(o.dir, async (c) => {
    const targets = o.terminal ? [o.terminal] : c.db.terminals().filter((t) => t.status === 'active').map((t) => t.id);
    const ids = targets.flatMap((t) => queueCommand(c, t, { type: 'reload-config' }, o.as ? { actor: o.as } : {}));
    const r = await awaitCommands(c, ids, 10_000);
    for (const x of r) io.out(`${x.terminalId}: reload-config ${x.status}`);
    return r.every((x) => x.status === 'sent') ? 0 : 1;
  });
};

function eventLine(e: StoredEvent): string {
  const ev = e.event;
  const base = `${time(ev.at)}\t${e.terminalId}\t${ev.type}`;
  switch (ev.type) {
    case 'entry.granted':
      return `${base}\t${ev.personId}\t${ev.credential}${ev.passId ? ` ${ev.passId}` : ''}\tscore=${ev.score ?? '-'}\t${ev.latencyMs} ms`;
    case 'entry.denied':
      return `${base}\t${ev.reason}\t${ev.credential}${ev.passId ? ` ${ev.passId}` : ''}\t${ev.personId ?? '-'}\tscore=${ev.score ?? '-'}`;
    case 'alarm.duress':
      return `${base}\t${ev.personId}\tdoor=${ev.doorId}\t${ev.credential}`;
    case 'alert.sighting':
      return `${base}\t${ev.tag}\t${ev.personId}\tdoor=${ev.doorId}\tscore=${ev.score}`;
    case 'alarm.held-open':
      return `${base}\topen ${ev.openMs} ms`;
    case 'alarm.fire':
      return `${base}\t${ev.state}`;
    case 'alarm.tamper':
      return `${base}\t${ev.input}`;
    case 'roster.integrity':
      return `${base}\t${ev.rejectedRows} rows rejected (${ev.code})`;
    case 'camera.stall':
      return `${base}\tsilent ${ev.silentMs} ms`;
    case 'camera.recovery':
      return `${base}\tafter ${ev.stalledMs} ms`;
    case 'alarm.forced-open':
      return base;
    case 'terminal.wiped':
      return `${base}\t${ev.outcome}\t${ev.persons} persons, ${ev.templates} templates`;
    case 'config.reload':
      return `${base}\t${ev.outcome}${ev.sections.length ? `\tsections=${ev.sections.join(',')}` : ''}${ev.problems.length ? `\tproblems=${ev.problems.join(',')}` : ''}`;
    case 'door.released':
      return `${base}\t${ev.source}${ev.personId ? `\t${ev.personId}` : ''}${ev.requestedBy ? `\tby=${ev.requestedBy}\tcommand=${ev.commandId ?? '-'}` : ''}${ev.durationMs ? `\t${ev.durationMs} ms` : ''}`;
    case 'unlock.refused':
      return `${base}\t${ev.reason}\tby=${ev.requestedBy}\tcommand=${ev.commandId}`;
    case 'alarm.relay-fault':
      return `${base}\t${ev.state}\tintended=${ev.intended}`;
    case 'terminal.fault':
      return `${base}\t${ev.code}\t${ev.state}`;
    case 'update.outcome':
      return `${base}\t${ev.outcome}\t${ev.version ?? '-'}\trunning=${ev.running ?? '-'}${ev.reason ? `\t${ev.reason}` : ''}${ev.detail ? `\t${ev.detail}` : ''}`;
  }
}

const eventsCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`events ${sub ?? ''}`, rest, { ...common, n: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, n: z.coerce.number().int().min(0).optional(), follow: z.boolean().optional(), json: z.boolean().optional() }));
  if (sub !== 'tail') throw new InvalidInputError('events', ['expected tail']);
  positionals('events tail', o.positionals, 0);
  return withCommunity(o.dir, async (c) => {
    let last = eventsTailStart(c, o.n ?? 20);
    let stop = false;
    if (o.follow) {
      process.once('SIGINT', () => (stop = true));
      process.once('SIGTERM', () => (stop = true));
    }
    do {
      const r = readEvents(c, last);
      for (const e of r.events) io.out(o.json ? JSON.stringify(e) : eventLine(e));
      last = r.last;
      if (o.follow && r.events.length === 0) await new Promise((res) => setTimeout(res, 500));
    } while (o.follow && !stop);
    return 0;
  });
};

const auditCommand: Command = async (args, io) => {
  const o = parseCli('audit', args, { ...common, n: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, n: z.coerce.number().int().min(1).optional(), json: z.boolean().optional() }));
  positionals('audit', o.positionals, 0);
  return withCommunity(o.dir, (c) => {
    for (const a of c.db.auditLog(o.n ?? 100)) io.out(o.json ? JSON.stringify(a) : `${time(a.at)}\t${a.actor}\t${a.action}\t${a.subject}\t${JSON.stringify(a.detail)}`);
    return 0;
  });
};

const hubCommand: Command = async (args, io) => {
  const o = parseCli('hub', args, { ...common, webhook: { type: 'string' }, 'poll-ms': { type: 'string' }, http: { type: 'string' }, 'auth-config': { type: 'string' }, 'real-name-check': { type: 'string' } },
    z.strictObject({
      ...commonSchema, webhook: WebhookUrlSchema.optional(), 'poll-ms': z.coerce.number().int().min(20).max(60_000).optional(),
      http: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT').optional(), 'auth-config': z.string().min(1).optional(), 'real-name-check': z.literal('off').optional(),
    }));
  if (o.positionals[0] === 'renew') {
    positionals('hub renew', o.positionals, 1);
    return withCommunity(o.dir, async (c) => {
      const r = renewHubCertificate(c, { passphrase: await readPassphrase(), ...(o.as ? { actor: o.as } : {}) });
      io.out(`hub certificate renewed until ${time(r.notAfter)}; a running hub uses it from its next connection (restart it to use it now)`);
      return 0;
    });
  }
  positionals('hub', o.positionals, 0);
  const c = Community.open(communityDir(o.dir));
  const passphrase = await readPassphrase();
  c.checkPassphrase(passphrase);
  const svc = await HubService.start({
    community: c,
    passphrase,
    log: createLogger(),
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    ...(o['poll-ms'] ? { pollMs: o['poll-ms'] } : {}),
  });
  io.err(`hub running for "${c.config.name}" on ${c.config.brokerUrl}, roster version ${svc.version()}`);
  const api = o.http ? await startHttpApi(c, passphrase, o.http, o['auth-config'], o['real-name-check'] === 'off') : null;
  if (api) io.err(`hub API on https://${o.http ?? ''} (OpenAPI at /api/openapi.json)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await api?.close();
  await svc.stop();
  c.close();
  return 0;
};

/** The hub's HTTPS API beside the MQTT side (provisioning/api/). */
async function startHttpApi(c: Community, passphrase: string, hostPort: string, authConfigFile: string | undefined, skipRealName: boolean): Promise<HubApi> {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(at + 1));
  let auth: unknown = {};
  if (authConfigFile) {
    try {
      auth = JSON.parse(readFileSync(authConfigFile, 'utf8'));
    } catch (e) {
      throw new InvalidInputError('--auth-config', [`${authConfigFile}: ${(e as Error).message}`]);
    }
  }
  const parsed = AuthConfigSchema.safeParse(auth);
  if (!parsed.success) throw new InvalidInputError('--auth-config', parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  const clock = new SystemClock();
  ensureRootKey(c, passphrase);
  const api = await HubApi.create({
    community: c,
    clock,
    log: createLogger(),
    tls: httpTls(c, passphrase, clock.now()),
    realName: skipRealName ? new SkippedRealNameCheck() : new NoRealNameCheck(),
    enroller: lazyPipelineEnroller(() => FacePipeline.load()),
    auth: parsed.data,
  });
  await api.listen(host, port);
  return api;
}

const updateCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`update ${sub ?? ''}`, rest, { ...common, from: { type: 'string' }, version: { type: 'string' }, replaces: { type: 'string', multiple: true }, out: { type: 'string' }, arch: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, from: z.string().min(1).optional(), version: z.string().optional(), replaces: z.array(z.string()).optional(), out: z.string().min(1).optional(), arch: z.enum(['arm64', 'x64']).optional(), json: z.boolean().optional() }));
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'build': {
        if (!o.from || !o.version || !o.out || !o.replaces) throw new InvalidInputError('update build', ['--from, --version, --replaces and --out are required']);
        const passphrase = await readPassphrase();
        const b = await buildBundle(c, { from: o.from, version: o.version, replaces: list(o.replaces) ?? [], out: o.out, passphrase, ...(o.arch ? { arch: o.arch } : {}), ...(o.as ? { actor: o.as } : {}) });
        const summary = { file: b.file, version: b.manifest.version, arch: b.manifest.arch, replaces: b.manifest.replaces, files: b.manifest.files.length, embedModel: b.manifest.models.embed, size: b.size, sha256: b.sha256 };
        io.out(o.json ? JSON.stringify(summary, null, 2) : `bundle ${b.manifest.version} (${b.manifest.arch}, replaces ${b.manifest.replaces.join(', ')}) written to ${b.file}: ${summary.files} files, ${b.size} bytes, sha256 ${b.sha256}`);
        return 0;
      }
      case 'key': {
        const passphrase = await readPassphrase();
        const { created, paths } = ensureUpdateKey(c, passphrase);
        io.out(o.json ? JSON.stringify({ publicKeyFile: paths.pub, created }) : `${created ? 'created' : 'update key'}: ${paths.pub} (copy it into terminal bundles as update-signing.pub)`);
        return 0;
      }
      default:
        throw new InvalidInputError('update', ['expected build or key (rollout waits for the hub HTTP service)']);
    }
  });
};

/** 90s, 30m, 2h, 3d -> ms. */
function duration(v: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) throw new InvalidInputError('--valid-for', ['a number with s, m, h or d: 90m, 2h, 3d']);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

const passCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`pass ${sub ?? ''}`, rest,
    { ...common, door: { type: 'string', multiple: true }, building: { type: 'string', multiple: true }, 'valid-for': { type: 'string' }, from: { type: 'string' }, uses: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, door: z.array(z.string()).optional(), building: z.array(z.string()).optional(), 'valid-for': z.string().optional(), from: z.iso.datetime({ offset: true }).optional(), uses: z.string().regex(/^\d{1,3}$/).optional(), label: z.string().max(200).optional(), out: z.string().optional(), json: z.boolean().optional() }));
  const actor = o.as ? { actor: o.as } : {};
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'issue': {
        if (!o.out) throw new InvalidInputError('pass issue', ['--out FILE.png or FILE.svg is required']);
        const issued = issuePass(c, await readPassphrase(), {
          doors: list(o.door) ?? [], buildings: list(o.building) ?? [],
          ...(o['valid-for'] ? { validForMs: duration(o['valid-for']) } : {}),
          ...(o.from ? { notBefore: Date.parse(o.from) } : {}),
          ...(o.uses ? { uses: Number(o.uses) } : {}),
          ...(o.label ? { label: o.label } : {}), ...actor,
        });
        await writePassImage(issued.text, o.out);
        const r = issued.record;
        if (o.json) io.out(JSON.stringify({ passId: r.passId, doors: r.doors, buildings: r.buildings, notBefore: time(r.notBefore), notAfter: time(r.notAfter), uses: r.uses, qrVersion: issued.qr.version, file: o.out }));
        else io.out(`pass ${r.passId}: ${[...r.doors, ...r.buildings.map((b) => `building ${b}`)].join(', ')}, ${time(r.notBefore)} to ${time(r.notAfter)}, ${r.uses === 0 ? 'any number of uses' : `${r.uses} use(s) per door`}; QR version ${issued.qr.version} (${issued.qr.size}x${issued.qr.size}) in ${o.out}`);
        return 0;
      }
      case 'revoke': {
        const id = o.positionals[0];
        if (!id) throw new InvalidInputError('pass revoke', ['give the pass id']);
        const r = revokePass(c, id, actor);
        io.out(`pass ${r.passId} revoked: the hub sends the revocation to every door with the next roster version`);
        return 0;
      }
      case 'list': {
        const ps = c.db.passes().map((p) => ({ ...p, usedBy: c.db.passUses(p.passId) }));
        if (o.json) io.out(JSON.stringify(ps, null, 2));
        else {
          for (const p of ps) {
            const by = Object.entries(p.usedBy).map(([t, n]) => `${t}:${n}`).join(',');
            io.out(`${p.passId}\t${[...p.doors, ...p.buildings.map((b) => `building:${b}`)].join(',')}\t${time(p.notBefore)}\t${time(p.notAfter)}\tuses=${p.used}/${p.uses || 'any'}${by ? ` (${by})` : ''}\t${p.revokedAt ? `revoked ${time(p.revokedAt)}` : 'valid'}${p.label ? `\t${p.label}` : ''}`);
          }
        }
        return 0;
      }
      default:
        throw new InvalidInputError('pass', ['expected issue, revoke or list']);
    }
  });
};

const credentialsCommand: Command = async (args, io) => {
  const o = parseCli('person credentials', args,
    { ...common, card: { type: 'string', multiple: true }, 'no-cards': { type: 'boolean' }, 'pin-stdin': { type: 'boolean' }, 'no-pin': { type: 'boolean' } },
    z.strictObject({ ...commonSchema, card: z.array(z.string().regex(/^\d{1,5}:\d{1,5}$/, 'FACILITY:NUMBER')).optional(), 'no-cards': z.boolean().optional(), 'pin-stdin': z.boolean().optional(), 'no-pin': z.boolean().optional() }));
  const id = o.positionals[0];
  if (!id) throw new InvalidInputError('person credentials', ['give the person id']);
  const opts: SetCredentialsOptions = o.as ? { actor: o.as } : {};
  if (o.card) opts.cards = o.card.map((x) => x.split(':').map(Number) as [number, number]);
  if (o['no-cards']) opts.cards = [];
  if (o['no-pin']) {
    opts.pin = null;
    opts.duressPin = null;
  }
  if (o['pin-stdin']) {
    const [pin, duress] = await readStdinLines();
    if (!pin) throw new InvalidInputError('person credentials', ['--pin-stdin: no PIN on standard input']);
    opts.pin = pin;
    if (duress) opts.duressPin = duress;
  }
  return withCommunity(o.dir, async (c) => {
    const p = await setCredentials(c, id, opts);
    io.out(`${id}: ${p.credentials?.cards.length ?? 0} card(s), PIN ${p.credentials?.pin ? 'set' : 'none'}, duress PIN ${p.credentials?.duressPin ? 'set' : 'none'}; published to the doors by the hub`);
    return 0;
  });
};

const commands: Record<string, Command> = {
  init: initCommand,
  pass: passCommand,
  terminal: terminalCommand,
  broker: brokerCommand,
  person: personCommand,
  alert: alertCommand,
  fleet: fleetCommand,
  door: doorCommand,
  config: configCommand,
  events: eventsCommand,
  audit: auditCommand,
  hub: hubCommand,
  update: updateCommand,
  operator: operatorCommand({ communityDir, readPassphrase: () => readPassphrase() }),
};

export const { run, main } = commandLine('provision', USAGE, commands);
