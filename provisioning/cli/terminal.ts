/**
 * `provision terminal add|revoke|wipe|resync|renew|list`: terminals, through the hub's API
 * (/api/terminals; admin, or root). `add` writes the bundle the hub answers into --out on this machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import type { FleetRow } from '../admin/fleet';
import { BUNDLE_FILES, checkBundleFolder, writeBundle } from '../admin/terminals';
import { COMMAND_OUTCOME, common, commonSchema, positionals, time, type Command } from './common';
import { connect, HubRefusedError } from './connect';

export const terminalCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`terminal ${sub ?? ''}`, rest, { ...common, id: { type: 'string' }, door: { type: 'string' }, building: { type: 'string' }, out: { type: 'string' }, camera: { type: 'string' }, json: { type: 'boolean' }, yes: { type: 'boolean' }, wait: { type: 'string' }, due: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, id: z.string().optional(), door: z.string().optional(), building: z.string().optional(), out: z.string().optional(), camera: z.string().max(500).optional(), json: z.boolean().optional(), yes: z.boolean().optional(), wait: z.coerce.number().min(0).max(60).optional(), due: z.boolean().optional() }));
  const tmax = ({ add: 0, revoke: 1, wipe: 1, resync: 1, list: 0, renew: o.due ? 0 : Number.POSITIVE_INFINITY } as Record<string, number>)[sub ?? ''];
  if (tmax !== undefined) positionals(`terminal ${sub ?? ''}`, o.positionals, tmax);
  switch (sub ?? '') {
    case 'add': {
      if (!o.id || !o.door || !o.out) throw new InvalidInputError('terminal add', ['--id, --door and --out are required']);
      const input = { id: parseId('terminal', o.id), doorId: parseId('door', o.door), ...(o.building ? { buildingId: parseId('building', o.building) } : {}), ...(o.camera ? { cameraUrl: o.camera } : {}) };
      const out = checkBundleFolder(o.out); // before the hub issues anything
      const r = await (await connect(o.dir)).terminalAdmin.add(input);
      const configFile = writeBundle(out, r.files.map((f) => ({ name: f.name, data: Buffer.from(f.data, 'base64'), private: f.private })));
      io.out(`terminal ${input.id} (door ${input.doorId}) added; bundle in ${out}: copy it onto the terminal's storage and run doorway run --config ${configFile}`);
      return 0;
    }
    case 'revoke': {
      const id = parseId('terminal', o.positionals[0] ?? o.id ?? '');
      const r = await (await connect(o.dir)).terminalAdmin.revoke(id);
      io.out(`terminal ${id} revoked: certificate on the CRL, removed from the ACL${r.broker === 'reloaded' ? ', broker reloaded' : ' (broker not running here: restart it or run provision broker config)'}`);
      return 0;
    }
    case 'wipe':
    case 'resync': {
      const given = o.positionals[0] ?? o.id;
      if (!given) throw new InvalidInputError(`terminal ${sub}`, ['give the terminal id']);
      const id = parseId('terminal', given);
      const waitS = o.wait ?? 10;
      const hub = await connect(o.dir);
      let r;
      try {
        r = sub === 'wipe' ? await hub.terminalAdmin.wipe(id, o.yes === true, waitS * 1000) : await hub.terminalAdmin.resync(id, waitS * 1000);
      } catch (e) {
        // A terminal that is not there or an unconfirmed wipe is an argument to fix (exit status 2).
        if (e instanceof HubRefusedError && (e.status === 404 || e.problem?.type.endsWith('/wipe-not-confirmed'))) throw new InvalidInputError(`terminal ${sub}`, [e.message]);
        throw e;
      }
      const said: Record<string, string> = { ...COMMAND_OUTCOME, queued: waitS > 0 ? 'still queued (is the hub running?)' : 'queued: the hub signs and sends it' };
      for (const x of r.commands) io.out(`${x.terminalId}: ${sub} ${said[x.status] ?? x.status}`);
      return r.commands.every((x) => x.status === 'sent' || (waitS === 0 && x.status === 'queued')) ? 0 : 1;
    }
    case 'renew': {
      if (!o.due && o.positionals.length === 0) throw new InvalidInputError('terminal renew', ['give terminal ids or --due']);
      const which = o.due ? { due: true as const } : { ids: o.positionals.map((x) => parseId('terminal', x)) };
      const { renewed } = await (await connect(o.dir)).terminalAdmin.renew(which);
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
      const ts = ((await (await connect(o.dir)).terminals()).items as FleetRow[]).map((t) => ({ id: t.terminalId, doorId: t.doorId, buildingId: t.buildingId, serial: t.serial, status: t.status, createdAt: t.createdAt, revokedAt: t.revokedAt }));
      if (o.json) io.out(JSON.stringify(ts, null, 2));
      else for (const t of ts) io.out(`${t.id}\tdoor=${t.doorId}\tbuilding=${t.buildingId}\t${t.status}\tsince ${time(t.revokedAt ?? t.createdAt)}`);
      return 0;
    }
    default:
      throw new InvalidInputError('terminal', ['expected add, revoke, wipe, resync, renew or list']);
  }
};
