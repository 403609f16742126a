/** `provision terminal add|revoke|wipe|resync|renew|list`: terminals (provisioning/admin/terminals.ts, doors.ts, certificates.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { renewTerminals } from '../admin/certificates';
import { NotFoundError } from '../admin/context';
import { awaitCommands, resyncTerminal, WipeNotConfirmedError, wipeTerminal } from '../admin/doors';
import { addTerminal, BUNDLE_FILES, listTerminals, revokeTerminal } from '../admin/terminals';
import { adminContext, COMMAND_OUTCOME, common, commonSchema, positionals, readPassphrase, time, withCommunity, type Command } from './common';

export const terminalCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`terminal ${sub ?? ''}`, rest, { ...common, id: { type: 'string' }, door: { type: 'string' }, building: { type: 'string' }, out: { type: 'string' }, camera: { type: 'string' }, json: { type: 'boolean' }, yes: { type: 'boolean' }, wait: { type: 'string' }, due: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, id: z.string().optional(), door: z.string().optional(), building: z.string().optional(), out: z.string().optional(), camera: z.string().optional(), json: z.boolean().optional(), yes: z.boolean().optional(), wait: z.coerce.number().min(0).max(60).optional(), due: z.boolean().optional() }));
  const tmax = ({ add: 0, revoke: 1, wipe: 1, resync: 1, list: 0, renew: o.due ? 0 : Number.POSITIVE_INFINITY } as Record<string, number>)[sub ?? ''];
  if (tmax !== undefined) positionals(`terminal ${sub ?? ''}`, o.positionals, tmax);
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'add': {
        if (!o.id || !o.door || !o.out) throw new InvalidInputError('terminal add', ['--id, --door and --out are required']);
        const ctx = adminContext(c, o.as, { passphrase: await readPassphrase() });
        const b = addTerminal(ctx, { id: o.id, doorId: o.door, out: o.out, ...(o.building ? { buildingId: o.building } : {}), ...(o.camera ? { cameraUrl: o.camera } : {}) });
        io.out(`terminal ${o.id} (door ${o.door}) added; bundle in ${b.dir}: copy it onto the terminal's storage and run doorway run --config ${b.configFile}`);
        return 0;
      }
      case 'revoke': {
        const id = o.positionals[0] ?? o.id;
        if (!id) throw new InvalidInputError('terminal revoke', ['give the terminal id']);
        const ctx = adminContext(c, o.as, { passphrase: await readPassphrase() });
        const r = revokeTerminal(ctx, { id });
        io.out(`terminal ${id} revoked: certificate on the CRL, removed from the ACL${r.broker === 'reloaded' ? ', broker reloaded' : ' (broker not running here: restart it or run provision broker config)'}`);
        return 0;
      }
      case 'wipe':
      case 'resync': {
        const id = o.positionals[0] ?? o.id;
        if (!id) throw new InvalidInputError(`terminal ${sub}`, ['give the terminal id']);
        const ctx = adminContext(c, o.as);
        let ids: number[];
        try {
          ids = sub === 'wipe' ? wipeTerminal(ctx, { id, confirm: o.yes === true }) : resyncTerminal(ctx, { id });
        } catch (e) {
          // A terminal that is not there or an unconfirmed wipe is an argument to fix (exit status 2).
          if (e instanceof NotFoundError || e instanceof WipeNotConfirmedError) throw new InvalidInputError(`terminal ${sub}`, [e.message]);
          throw e;
        }
        const waitS = o.wait ?? 10;
        const r = await awaitCommands(ctx, { ids, timeoutMs: waitS * 1000 });
        const said: Record<string, string> = { ...COMMAND_OUTCOME, queued: waitS > 0 ? 'still queued (is the hub running?)' : 'queued: the hub signs and sends it' };
        for (const x of r) io.out(`${x.terminalId}: ${sub} ${said[x.status] ?? x.status}`);
        return r.every((x) => x.status === 'sent' || (waitS === 0 && x.status === 'queued')) ? 0 : 1;
      }
      case 'renew': {
        const ctx = adminContext(c, o.as, { passphrase: await readPassphrase() });
        if (!o.due && o.positionals.length === 0) throw new InvalidInputError('terminal renew', ['give terminal ids or --due']);
        const renewed = renewTerminals(ctx, o.due ? { due: true } : { ids: o.positionals });
        for (const r of renewed) {
          const id = r.terminalId;
          if (o.out) {
            mkdirSync(join(o.out, id), { recursive: true, mode: 0o700 });
            writeFileSync(join(o.out, id, BUNDLE_FILES.cert), r.cert);
          }
          io.out(`${id}: certificate renewed until ${time(r.notAfter)}; the hub sends it to the terminal${o.out ? ` (also in ${join(o.out, id, BUNDLE_FILES.cert)})` : ''}`);
        }
        if (renewed.length === 0) io.out('no terminal certificate is due for renewal');
        return 0;
      }
      case 'list': {
        const ts = listTerminals(adminContext(c, o.as));
        if (o.json) io.out(JSON.stringify(ts, null, 2));
        else for (const t of ts) io.out(`${t.id}\tdoor=${t.doorId}\tbuilding=${t.buildingId}\t${t.status}\tsince ${time(t.revokedAt ?? t.createdAt)}`);
        return 0;
      }
      default:
        throw new InvalidInputError('terminal', ['expected add, revoke, wipe, resync, renew or list']);
    }
  });
};
