/**
 * `provision registration list|approve|reject`: the tenants' registrations from the tenant app (the
 * approval queue), through the hub's API (/api/registrations; an admin, or the manager of the
 * registration's building; an auditor lists).
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import type { Registration } from '../api/client';
import { common, commonSchema, list, positionals, time, type Command } from './common';
import { connect } from './connect';

const RegistrationIdSchema = z.string().regex(/^r-[0-9a-z]{26}$/, 'a registration id (r-...)');

function line(r: Registration): string {
  const refused = r.photos.filter((p) => p.verdict === 'refused').length;
  return `${r.id}\t${r.status}\tbuilding=${r.buildingId}\troom=${r.room}\t${r.name}\t${r.idNumberMasked}\treal-name=${r.realName}\tphotos=${r.photos.length}${refused ? ` (${refused} refused)` : ''}\t${time(r.submittedAt)}${r.decidedBy ? `\tby ${r.decidedBy}` : ''}`;
}

export const registrationCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`registration ${sub ?? ''}`, rest, {
    ...common, status: { type: 'string' }, building: { type: 'string' }, json: { type: 'boolean' }, reason: { type: 'string' },
    doors: { type: 'string', multiple: true }, buildings: { type: 'string', multiple: true }, from: { type: 'string' }, until: { type: 'string' }, hours: { type: 'string', multiple: true },
  }, z.strictObject({
    ...commonSchema, status: z.enum(['pending', 'approved', 'rejected']).optional(), building: z.string().optional(), json: z.boolean().optional(), reason: z.string().trim().min(1).max(500).optional(),
    doors: z.array(z.string()).optional(), buildings: z.array(z.string()).optional(), from: z.string().max(40).optional(), until: z.string().max(40).optional(), hours: z.array(z.string().max(40)).optional(),
  }));
  const idArg = (): string => {
    positionals(`registration ${sub ?? ''}`, o.positionals, 1);
    const r = RegistrationIdSchema.safeParse(o.positionals[0]);
    if (!r.success) throw new InvalidInputError(`registration ${sub ?? ''}`, ['give the registration id (r-...)']);
    return r.data;
  };
  switch (sub ?? '') {
    case 'list': {
      positionals('registration list', o.positionals, 0);
      const items = (await (await connect(o.dir)).registrations.list({ ...(o.status ? { status: o.status } : {}), ...(o.building ? { building: parseId('building', o.building) } : {}) })).items;
      if (o.json) io.out(JSON.stringify(items, null, 2));
      else for (const r of items) io.out(line(r));
      return 0;
    }
    case 'approve': {
      const id = idArg();
      const doors = list(o.doors);
      const buildings = list(o.buildings);
      const r = await (await connect(o.dir)).registrations.approve(id, {
        ...(doors ? { doors: doors.map((d) => parseId('door', d)) } : {}),
        ...(buildings ? { buildings: buildings.map((b) => parseId('building', b)) } : {}),
        ...(o.from ? { from: o.from } : {}),
        ...(o.until ? { until: o.until } : {}),
        ...(o.hours ? { hours: o.hours } : {}),
      });
      io.out(`${r.id}: approved (resident ${r.personId}); the hub publishes it to the doors`);
      return 0;
    }
    case 'reject': {
      const id = idArg();
      if (!o.reason) throw new InvalidInputError('registration reject', ['--reason TEXT is required']);
      const r = await (await connect(o.dir)).registrations.reject(id, o.reason);
      io.out(`${r.id}: rejected; its photos and templates deleted`);
      return 0;
    }
    default:
      throw new InvalidInputError('registration', ['expected list, approve or reject']);
  }
};
