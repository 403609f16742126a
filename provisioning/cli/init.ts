/** `provision init`: a new community folder (CA, hub keys, broker certificate, hub database). */
import { z } from 'zod';
import { parseCli } from '../../runtime/command-line';
import { initCommunity } from '../community';
import { common, commonSchema, communityDir, operator, positionals, readPassphrase, type Command } from './common';

export const initCommand: Command = async (args, io) => {
  const o = parseCli('init', args, {
    ...common,
    name: { type: 'string' },
    'broker-url': { type: 'string' },
    'broker-host': { type: 'string', multiple: true },
    'time-zone': { type: 'string' },
    webhook: { type: 'string' },
  }, z.strictObject({ ...commonSchema, name: z.string().optional(), 'broker-url': z.string().optional(), 'broker-host': z.array(z.string()).optional(), 'time-zone': z.string().optional(), webhook: z.string().optional() }));
  positionals('init', o.positionals, 0);
  const dir = communityDir(o.dir);
  const passphrase = await readPassphrase('new community passphrase: ');
  const c = initCommunity({
    dir,
    passphrase,
    ...(o.name ? { name: o.name } : {}),
    ...(o['broker-url'] ? { brokerUrl: o['broker-url'] } : {}),
    ...(o['broker-host'] ? { brokerAltNames: o['broker-host'] } : {}),
    ...(o['time-zone'] ? { timeZone: o['time-zone'] } : {}),
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    actor: operator(o.as),
    now: Date.now(),
  });
  io.out(`community "${c.config.name}" created in ${c.paths.dir} (broker ${c.config.brokerUrl})`);
  c.close();
  return 0;
};
