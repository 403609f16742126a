/** `provision hub [renew]`: run the community's hub (provisioning/hub/main.ts), or renew its certificate. */
import { z } from 'zod';
import { SystemClock } from '../../core/clock';
import { createLogger } from '../../core/log';
import { parseCli } from '../../runtime/command-line';
import { renewHub } from '../admin/certificates';
import { Community, WebhookUrlSchema } from '../community';
import { startCommunityHub } from '../hub/main';
import { adminContext, common, commonSchema, communityDir, positionals, readPassphrase, time, withCommunity, type Command } from './common';

export const hubCommand: Command = async (args, io) => {
  const o = parseCli('hub', args, { ...common, webhook: { type: 'string' }, 'poll-ms': { type: 'string' } },
    z.strictObject({ ...commonSchema, webhook: WebhookUrlSchema.optional(), 'poll-ms': z.coerce.number().int().min(20).max(60_000).optional() }));
  if (o.positionals[0] === 'renew') {
    positionals('hub renew', o.positionals, 1);
    return withCommunity(o.dir, async (c) => {
      const r = renewHub(adminContext(c, o.as, { passphrase: await readPassphrase() }));
      io.out(`hub certificate renewed until ${time(r.notAfter)}; a running hub uses it from its next connection (restart it to use it now)`);
      return 0;
    });
  }
  positionals('hub', o.positionals, 0);
  const c = Community.open(communityDir(o.dir));
  const passphrase = await readPassphrase();
  c.checkPassphrase(passphrase);
  const hub = await startCommunityHub({
    community: c,
    passphrase,
    clock: new SystemClock(),
    log: createLogger(),
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    ...(o['poll-ms'] ? { pollMs: o['poll-ms'] } : {}),
  });
  io.err(`hub running for "${c.config.name}" on ${c.config.brokerUrl}, roster version ${hub.version()}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await hub.stop();
  c.close();
  return 0;
};
