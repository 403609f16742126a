/**
 * `provision operator add|list|disable|reset-password`: operators on the community folder directly,
 * with the passphrase, as the built-in root operator (audited as `root`). This is the bootstrap and
 * recovery path; everyday operator management is the hub's API (/api/operators), which an admin reaches
 * with their own login.
 */
import { z } from 'zod';
import { SystemClock } from '../../core/clock';
import { InvalidInputError } from '../../core/errors';
import { parseCli, type CliIo } from '../../runtime/command-line';
import { Community } from '../community';
import { OperatorAccounts, type Operator } from '../operators/accounts';
import { ROLES, ROOT_OPERATOR } from '../operators/roles';

export interface OperatorCliDeps {
  communityDir: (dir: string | undefined) => string;
  readPassphrase: () => Promise<string>;
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function line(o: Operator): string {
  return `${o.id}\t${o.role}\t${o.buildings.join(',') || '-'}\t${o.disabled ? 'disabled' : o.mustChangePassword ? 'must change password' : 'active'}`;
}

export function operatorCommand(deps: OperatorCliDeps) {
  return async (args: string[], io: CliIo): Promise<number> => {
    const [sub, ...rest] = args;
    const o = parseCli(`operator ${sub ?? ''}`, rest, {
      dir: { type: 'string' }, as: { type: 'string' }, id: { type: 'string' }, role: { type: 'string' }, buildings: { type: 'string' }, json: { type: 'boolean' },
    }, z.strictObject({
      dir: z.string().min(1).optional(), as: z.string().optional(), positionals: z.array(z.string()).max(1),
      id: z.string().optional(), role: z.enum(ROLES).optional(), buildings: z.string().optional(), json: z.boolean().optional(),
    }));
    if (o.as !== undefined && o.as !== ROOT_OPERATOR) throw new InvalidInputError('operator', [`operators are managed here as ${ROOT_OPERATOR} (the passphrase); --as does not apply`]);
    const c = Community.open(deps.communityDir(o.dir));
    try {
      const accounts = new OperatorAccounts(c.db, new SystemClock());
      const root = { id: ROOT_OPERATOR };
      const idArg = (): string => {
        const id = o.positionals[0] ?? o.id;
        if (!id) throw new InvalidInputError(`operator ${sub ?? ''}`, ['give the operator id']);
        return id;
      };
      switch (sub ?? '') {
        case 'list': {
          const ops = accounts.list();
          if (o.json) io.out(JSON.stringify(ops, null, 2));
          else for (const x of ops) io.out(line(x));
          return 0;
        }
        case 'add': {
          if (!o.id || !o.role) throw new InvalidInputError('operator add', ['--id and --role are required']);
          c.checkPassphrase(await deps.readPassphrase());
          const r = await accounts.add({ id: o.id, role: o.role, buildings: list(o.buildings) }, root);
          io.out(`operator ${r.operator.id} (${r.operator.role}${r.operator.buildings.length ? ` of ${r.operator.buildings.join(', ')}` : ''}) added`);
          io.out(`one-time password: ${r.password}`);
          io.out('it works once: the first login must change it');
          return 0;
        }
        case 'disable': {
          c.checkPassphrase(await deps.readPassphrase());
          const r = accounts.disable(idArg(), root);
          io.out(`operator ${r.id} disabled: no login; every session and token ended`);
          return 0;
        }
        case 'reset-password': {
          c.checkPassphrase(await deps.readPassphrase());
          const r = await accounts.resetPassword(idArg(), root);
          io.out(`operator ${r.operator.id}: sessions and tokens ended; one-time password: ${r.password}`);
          return 0;
        }
        default:
          throw new InvalidInputError('operator', ['expected add, list, disable or reset-password']);
      }
    } finally {
      c.close();
    }
  };
}
