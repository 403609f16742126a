/** `provision audit`: who did what, when (provisioning/admin/audit.ts). */
import { z } from 'zod';
import { parseCli } from '../../runtime/command-line';
import { auditLog } from '../admin/audit';
import { adminContext, common, commonSchema, positionals, time, withCommunity, type Command } from './common';

export const auditCommand: Command = async (args, io) => {
  const o = parseCli('audit', args, { ...common, n: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, n: z.coerce.number().int().min(1).optional(), json: z.boolean().optional() }));
  positionals('audit', o.positionals, 0);
  return withCommunity(o.dir, (c) => {
    for (const a of auditLog(adminContext(c, o.as), { limit: o.n ?? 100 })) io.out(o.json ? JSON.stringify(a) : `${time(a.at)}\t${a.actor}\t${a.action}\t${a.subject}\t${JSON.stringify(a.detail)}`);
    return 0;
  });
};
