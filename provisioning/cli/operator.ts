/**
 * `provision operator add|list|disable|reset-password`: operators, through the hub's API
 * (/api/operators: an admin, or root with the passphrase; an auditor may list). The first admin is made by
 * `provision init`; after that every operator is managed here or in the console, audited as whoever did it.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import type { Operator } from '../api/client';
import { ROLES } from '../operators/roles';
import { common, commonSchema, list, type Command } from './common';
import { connect } from './connect';

function line(o: Operator): string {
  return `${o.id}\t${o.role}\t${o.buildings.join(',') || '-'}\t${o.disabled ? 'disabled' : o.mustChangePassword ? 'must change password' : 'active'}`;
}

export const operatorCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`operator ${sub ?? ''}`, rest, { ...common, id: { type: 'string' }, role: { type: 'string' }, buildings: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, positionals: z.array(z.string()).max(1), id: z.string().optional(), role: z.enum(ROLES).optional(), buildings: z.string().optional(), json: z.boolean().optional() }));
  const idArg = (): string => {
    const id = o.positionals[0] ?? o.id;
    if (!id) throw new InvalidInputError(`operator ${sub ?? ''}`, ['give the operator id']);
    return parseId('operator', id);
  };
  switch (sub ?? '') {
    case 'list': {
      const ops = (await (await connect(o.dir)).operators.list()).items;
      if (o.json) io.out(JSON.stringify(ops, null, 2));
      else for (const x of ops) io.out(line(x));
      return 0;
    }
    case 'add': {
      if (!o.id || !o.role) throw new InvalidInputError('operator add', ['--id and --role are required']);
      const r = await (await connect(o.dir)).operators.add({ id: parseId('operator', o.id), role: o.role, buildings: (list(o.buildings ? [o.buildings] : []) ?? []).map((b) => parseId('building', b)) });
      io.out(`operator ${r.operator.id} (${r.operator.role}${r.operator.buildings.length ? ` of ${r.operator.buildings.join(', ')}` : ''}) added`);
      io.out(`one-time password: ${r.password}`);
      io.out('it works once: the first login must change it');
      return 0;
    }
    case 'disable': {
      const r = await (await connect(o.dir)).operators.disable(idArg());
      io.out(`operator ${r.id} disabled: no login; every session and token ended`);
      return 0;
    }
    case 'reset-password': {
      const r = await (await connect(o.dir)).operators.resetPassword(idArg());
      io.out(`operator ${r.operator.id}: sessions and tokens ended; one-time password: ${r.password}`);
      return 0;
    }
    default:
      throw new InvalidInputError('operator', ['expected add, list, disable or reset-password']);
  }
};
