/**
 * `provision init`: a new community folder (CA, hub keys, broker certificate, hub database), and for
 * the operators: the root request key (the passphrase's), the API's server certificate and the first
 * admin (one-time password printed).
 */
import { z } from 'zod';
import { SystemClock } from '../../core/clock';
import { parseCli } from '../../runtime/command-line';
import { IdSchema } from '../../runtime/protocol/ids';
import { defaultHttpNames, issueHttpCertificate } from '../api/tls';
import { initCommunity } from '../community';
import { OperatorAccounts } from '../operators/accounts';
import { ensureRootKey } from '../operators/root';
import { ROOT_OPERATOR } from '../operators/roles';
import { common, commonSchema, communityDir, positionals, readPassphrase, type Command } from './common';

export const initCommand: Command = async (args, io) => {
  const o = parseCli('init', args, {
    ...common,
    name: { type: 'string' },
    'broker-url': { type: 'string' },
    'broker-host': { type: 'string', multiple: true },
    'time-zone': { type: 'string' },
    webhook: { type: 'string' },
    admin: { type: 'string' },
    'http-host': { type: 'string', multiple: true },
  }, z.strictObject({ ...commonSchema, name: z.string().optional(), 'broker-url': z.string().optional(), 'broker-host': z.array(z.string()).optional(), 'time-zone': z.string().optional(), webhook: z.string().optional(),
    admin: IdSchema.optional(), 'http-host': z.array(z.string().regex(/^(IP:[0-9A-Fa-f.:]+|DNS:[A-Za-z0-9*.-]+)$/, 'IP:ADDRESS or DNS:NAME')).optional() }));
  positionals('init', o.positionals, 0);
  const dir = communityDir(o.dir);
  const passphrase = await readPassphrase('new community passphrase: ');
  const clock = new SystemClock();
  const c = initCommunity({
    dir,
    passphrase,
    ...(o.name ? { name: o.name } : {}),
    ...(o['broker-url'] ? { brokerUrl: o['broker-url'] } : {}),
    ...(o['broker-host'] ? { brokerAltNames: o['broker-host'] } : {}),
    ...(o['time-zone'] ? { timeZone: o['time-zone'] } : {}),
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    actor: ROOT_OPERATOR,
    now: clock.now(),
  });
  io.out(`community "${c.config.name}" created in ${c.paths.dir} (broker ${c.config.brokerUrl})`);
  try {
    // Operators: the root request key (the passphrase's), the API's certificate, the first admin.
    ensureRootKey(c, passphrase);
    const names = o['http-host'] ?? defaultHttpNames(c);
    issueHttpCertificate(c, passphrase, names, ROOT_OPERATOR, clock.now());
    const admin = await new OperatorAccounts(c.db, clock).add({ id: o.admin ?? 'admin', role: 'admin' }, { id: ROOT_OPERATOR });
    io.out(`hub API certificate for ${names.join(', ')}`);
    io.out(`first admin "${admin.operator.id}": one-time password ${admin.password} (the first login must change it)`);
  } finally {
    c.close();
  }
  return 0;
};
