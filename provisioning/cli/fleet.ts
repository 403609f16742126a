/** `provision fleet status`: every terminal's health as its heartbeats told the hub (provisioning/admin/fleet.ts). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { fleetStatus, infrastructureCertificates } from '../admin/fleet';
import { adminContext, common, commonSchema, positionals, time, withCommunity, type Command } from './common';

export const fleetCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`fleet ${sub ?? ''}`, rest, { ...common, json: { type: 'boolean' } }, z.strictObject({ ...commonSchema, json: z.boolean().optional() }));
  if (sub !== 'status') throw new InvalidInputError('fleet', ['expected status']);
  positionals('fleet status', o.positionals, 0);
  return withCommunity(o.dir, (c) => {
    const ctx = adminContext(c, o.as);
    const rows = fleetStatus(ctx);
    if (o.json) {
      io.out(JSON.stringify(rows, null, 2));
      return 0;
    }
    io.out(['terminal', 'door', 'state', 'last heartbeat', 'roster lag', 'outbox', 'fps', 'software', 'update', 'model', 'faults', 'certificate'].join('\t'));
    for (const r of rows) {
      const state = r.status === 'revoked' ? 'revoked' : r.online ? 'online' : 'offline';
      const cert = r.certificateExpiresAt === null ? '-' : `${time(r.certificateExpiresAt).slice(0, 10)}${r.certificate && r.certificate !== 'ok' ? ` (${r.certificate})` : ''}`;
      io.out([r.terminalId, r.doorId, state, time(r.lastHeartbeat), r.rosterLag ?? '-', r.outboxDepth ?? '-', r.cameraFps ?? '-', r.version ?? r.softwareVersion ?? '-', r.update ? `${r.update.state}${r.update.slot ? ` (slot ${r.update.slot})` : ''}` : '-', r.modelVersion ?? '-', r.faults?.length ? r.faults.join(',') : '-', cert].join('\t'));
    }
    for (const x of infrastructureCertificates(ctx)) if (x.state !== 'ok') io.out(`warning: the ${x.name} certificate ${x.state === 'expired' ? 'expired' : 'expires'} ${time(x.expiresAt)}: provision ${x.name} renew`);
    return 0;
  });
};
