/** `provision fleet status`: every terminal's health as its heartbeats told the hub, through the hub's API (/api/terminals). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import type { FleetRow } from '../admin/fleet';
import { common, commonSchema, positionals, time, type Command } from './common';
import { connect } from './connect';

export const fleetCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`fleet ${sub ?? ''}`, rest, { ...common, json: { type: 'boolean' } }, z.strictObject({ ...commonSchema, json: z.boolean().optional() }));
  if (sub !== 'status') throw new InvalidInputError('fleet', ['expected status']);
  positionals('fleet status', o.positionals, 0);
  const r = await (await connect(o.dir)).terminals();
  const rows = r.items as FleetRow[];
  if (o.json) {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  io.out(['terminal', 'door', 'state', 'last heartbeat', 'roster lag', 'outbox', 'fps', 'software', 'update', 'model', 'faults', 'certificate'].join('\t'));
  for (const t of rows) {
    const state = t.status === 'revoked' ? 'revoked' : t.online ? 'online' : 'offline';
    const cert = t.certificateExpiresAt === null ? '-' : `${time(t.certificateExpiresAt).slice(0, 10)}${t.certificate && t.certificate !== 'ok' ? ` (${t.certificate})` : ''}`;
    io.out([t.terminalId, t.doorId, state, time(t.lastHeartbeat), t.rosterLag ?? '-', t.outboxDepth ?? '-', t.cameraFps ?? '-', t.version ?? t.softwareVersion ?? '-', t.update ? `${t.update.state}${t.update.slot ? ` (slot ${t.update.slot})` : ''}` : '-', t.modelVersion ?? '-', t.faults?.length ? t.faults.join(',') : '-', cert].join('\t'));
  }
  for (const x of r.certificates) if (x.state !== 'ok') io.out(`warning: the ${x.name} certificate ${x.state === 'expired' ? 'expired' : 'expires'} ${time(x.expiresAt)}: provision ${x.name} renew`);
  return 0;
};
