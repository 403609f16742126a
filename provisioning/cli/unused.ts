/**
 * `provision person unused [--days N] [--building B] [--json]`: active residents not let in at any door
 * for N days (default 90; the hub computes it from its entry events, provisioning/retention/unused.ts),
 * for their building manager to confirm (`provision person confirm ID`: still lives here, hidden for N
 * more days) or end (`person revoke ID`, or `person update ID --until DATE`). A manager sees their
 * buildings' residents only.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import { common, commonSchema, positionals, shown, time, type Command } from './common';
import { connect } from './connect';

export const unusedCommand: Command = async (args, io) => {
  const o = parseCli('person unused', args, { ...common, days: { type: 'string' }, building: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, days: z.string().regex(/^\d{1,4}$/, 'a whole number of days').optional(), building: z.string().optional(), json: z.boolean().optional() }));
  positionals('person unused', o.positionals, 0);
  const building = o.building === undefined ? undefined : parseId('building', o.building);
  const days = o.days === undefined ? undefined : Number(o.days);
  if (days !== undefined && days < 1) throw new InvalidInputError('person unused', ['--days: at least 1']);
  const r = await (await connect(o.dir)).residents.unused({ ...(days !== undefined ? { days } : {}), ...(building ? { building } : {}) });
  if (o.json) {
    io.out(JSON.stringify(r, null, 2));
    return 0;
  }
  for (const p of r.items) {
    const who = [p.name ? shown(p.name) : null, p.room ? `room ${shown(p.room)}` : null].filter(Boolean).join(', ');
    io.out(`${p.personId}\t${who || '-'}\t${p.buildings.join(',') || '-'}\tlast seen ${p.lastSeenAt === null ? 'never (within the entries kept)' : time(p.lastSeenAt)}\tadded ${time(p.createdAt)}${p.confirmedAt !== null ? `\tconfirmed ${time(p.confirmedAt)}` : ''}`);
  }
  io.out(`${r.items.length} resident(s) not seen at any door for ${r.days} days: confirm (provision person confirm ID) or end their access (provision person revoke ID)`);
  return 0;
};

export const confirmCommand: Command = async (args, io) => {
  const o = parseCli('person confirm', args, { ...common }, z.strictObject({ ...commonSchema }));
  positionals('person confirm', o.positionals, 1);
  const given = o.positionals[0];
  if (!given) throw new InvalidInputError('person confirm', ['give the person id']);
  const r = await (await connect(o.dir)).residents.confirm(parseId('person', given));
  io.out(`${r.personId}: confirmed as still living here (${time(r.confirmedAt)}); left out of the unused report for its days again`);
  return 0;
};
