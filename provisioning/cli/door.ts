/** `provision door unlock`: a signed, expiring remote unlock of a door or one terminal (provisioning/admin/doors.ts). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { awaitCommands, unlockDoor } from '../admin/doors';
import { adminContext, COMMAND_OUTCOME, common, commonSchema, positionals, withCommunity, type Command } from './common';

export const doorCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`door ${sub ?? ''}`, rest, { ...common, seconds: { type: 'string' } }, z.strictObject({ ...commonSchema, seconds: z.coerce.number().int().min(1).max(60).optional() }));
  if (sub !== 'unlock' || !o.positionals[0]) throw new InvalidInputError('door', ['expected unlock DOOR_OR_TERMINAL_ID']);
  positionals('door unlock', o.positionals, 1);
  const target = o.positionals[0];
  return withCommunity(o.dir, async (c) => {
    const ctx = adminContext(c, o.as);
    const ids = unlockDoor(ctx, { target, ...(o.seconds !== undefined ? { seconds: o.seconds } : {}) });
    const r = await awaitCommands(ctx, { ids, timeoutMs: 10_000 });
    for (const x of r) io.out(`${x.terminalId}: unlock ${COMMAND_OUTCOME[x.status] ?? x.status}`);
    return r.every((x) => x.status === 'sent') ? 0 : 1;
  });
};
