/** `provision config push`: ask terminals to reload their configuration, through the hub's API (admin). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import { common, commonSchema, positionals, type Command } from './common';
import { connect } from './connect';

export const configCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`config ${sub ?? ''}`, rest, { ...common, terminal: { type: 'string' } }, z.strictObject({ ...commonSchema, terminal: z.string().optional() }));
  if (sub !== 'push') throw new InvalidInputError('config', ['expected push']);
  positionals('config push', o.positionals, 0);
  const terminalId = o.terminal === undefined ? undefined : parseId('door or terminal', o.terminal);
  const r = await (await connect(o.dir)).terminalAdmin.reloadConfig({ ...(terminalId ? { terminalId } : {}), waitMs: 10_000 });
  for (const x of r.commands) io.out(`${x.terminalId}: reload-config ${x.status}`);
  return r.commands.every((x) => x.status === 'sent') ? 0 : 1;
};
