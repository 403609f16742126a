/** `provision audit`: who did what, when, through the hub's API (/api/audit; admin and auditor). */
import { z } from 'zod';
import { parseCli } from '../../runtime/command-line';
import { common, commonSchema, positionals, time, type Command } from './common';
import { connect } from './connect';

export const auditCommand: Command = async (args, io) => {
  const o = parseCli('audit', args, { ...common, n: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, n: z.coerce.number().int().min(1).max(1000).optional(), json: z.boolean().optional() }));
  positionals('audit', o.positionals, 0);
  const hub = await connect(o.dir);
  // The last n rows, oldest first (the API pages newest first).
  const rows = (await hub.audit({ limit: o.n ?? 100 })).items.reverse();
  for (const a of rows) io.out(o.json ? JSON.stringify(a) : `${time(a.at)}\t${a.actor}\t${a.action}\t${a.subject}\t${JSON.stringify(a.detail)}`);
  return 0;
};
