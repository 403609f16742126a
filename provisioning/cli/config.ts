/** `provision config push`: ask terminals to reload their configuration (provisioning/admin/doors.ts). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { awaitCommands, pushConfig } from '../admin/doors';
import { adminContext, common, commonSchema, positionals, withCommunity, type Command } from './common';

export const configCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`config ${sub ?? ''}`, rest, { ...common, terminal: { type: 'string' } }, z.strictObject({ ...commonSchema, terminal: z.string().optional() }));
  if (sub !== 'push') throw new InvalidInputError('config', ['expected push']);
  positionals('config push', o.positionals, 0);
  return withCommunity(o.dir, async (c) => {
    const ctx = adminContext(c, o.as);
    const ids = pushConfig(ctx, o.terminal !== undefined ? { terminalId: o.terminal } : {});
    const r = await awaitCommands(ctx, { ids, timeoutMs: 10_000 });
    for (const x of r) io.out(`${x.terminalId}: reload-config ${x.status}`);
    return r.every((x) => x.status === 'sent') ? 0 : 1;
  });
};
