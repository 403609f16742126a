/** `provision door unlock`: a signed, expiring remote unlock of a door or one terminal, through the hub's API (admin, security). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import { COMMAND_OUTCOME, common, commonSchema, positionals, type Command } from './common';
import { connect } from './connect';

export const doorCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`door ${sub ?? ''}`, rest, { ...common, seconds: { type: 'string' }, reason: { type: 'string' } },
    z.strictObject({ ...commonSchema, seconds: z.coerce.number().int().min(1).max(60).optional(), reason: z.string().trim().min(3, 'at least 3 characters').max(500).optional() }));
  if (sub !== 'unlock' || !o.positionals[0]) throw new InvalidInputError('door', ['expected unlock DOOR_OR_TERMINAL_ID --reason TEXT']);
  positionals('door unlock', o.positionals, 1);
  const target = parseId('door or terminal', o.positionals[0]);
  if (!o.reason) throw new InvalidInputError('door unlock', ['--reason TEXT is required (it is audited with who asked)']);
  const r = await (await connect(o.dir)).doors.unlock(target, o.reason, { waitMs: 10_000, ...(o.seconds !== undefined ? { seconds: o.seconds } : {}) });
  for (const x of r.commands) io.out(`${x.terminalId}: unlock ${COMMAND_OUTCOME[x.status] ?? x.status}`);
  return r.commands.every((x) => x.status === 'sent') ? 0 : 1;
};
