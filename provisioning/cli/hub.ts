/**
 * `provision hub [renew]`: run the community's hub (provisioning/hub/main.ts), with `--http HOST:PORT`
 * also its HTTPS API (provisioning/api/), or renew its certificate.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SystemClock, type Clock } from '../../core/clock';
import { InvalidInputError } from '../../core/errors';
import { createLogger } from '../../core/log';
import { FacePipeline } from '../../models/pipeline';
import { parseCli } from '../../runtime/command-line';
import { lazyPipelineEnroller } from '../admin/enrol';
import { renewHub } from '../admin/certificates';
import { NoRealNameCheck, SkippedRealNameCheck } from '../api/realname';
import { HubApi } from '../api/server';
import { httpTls, renewHttpTlsIfDue } from '../api/tls';
import { Community, WebhookUrlSchema } from '../community';
import { AuthConfigSchema } from '../operators/config';
import { ensureRootKey } from '../operators/root';
import { startCommunityHub } from '../hub/main';
import { adminContext, common, commonSchema, communityDir, positionals, readPassphrase, time, withCommunity, type Command } from './common';

export const hubCommand: Command = async (args, io) => {
  const o = parseCli('hub', args, { ...common, webhook: { type: 'string' }, 'poll-ms': { type: 'string' }, http: { type: 'string' }, 'auth-config': { type: 'string' }, 'real-name-check': { type: 'string' } },
    z.strictObject({
      ...commonSchema, webhook: WebhookUrlSchema.optional(), 'poll-ms': z.coerce.number().int().min(20).max(60_000).optional(),
      http: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT').optional(), 'auth-config': z.string().min(1).optional(), 'real-name-check': z.literal('off').optional(),
    }));
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
  const clock = new SystemClock();
  const hub = await startCommunityHub({
    community: c,
    passphrase,
    clock,
    log: createLogger(),
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    ...(o['poll-ms'] ? { pollMs: o['poll-ms'] } : {}),
  });
  io.err(`hub running for "${c.config.name}" on ${c.config.brokerUrl}, roster version ${hub.version()}`);
  const api = o.http ? await startHttpApi(c, passphrase, clock, o.http, o['auth-config'], o['real-name-check'] === 'off') : null;
  if (api) io.err(`hub API on https://${o.http ?? ''} (OpenAPI at /api/openapi.json)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await api?.close();
  await hub.stop();
  c.close();
  return 0;
};

/** The hub's HTTPS API beside the MQTT side (provisioning/api/). */
async function startHttpApi(c: Community, passphrase: string, clock: Clock, hostPort: string, authConfigFile: string | undefined, skipRealName: boolean): Promise<HubApi> {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(at + 1));
  let auth: unknown = {};
  if (authConfigFile) {
    try {
      auth = JSON.parse(readFileSync(authConfigFile, 'utf8'));
    } catch (e) {
      throw new InvalidInputError('--auth-config', [`${authConfigFile}: ${(e as Error).message}`]);
    }
  }
  const parsed = AuthConfigSchema.safeParse(auth);
  if (!parsed.success) throw new InvalidInputError('--auth-config', parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  ensureRootKey(c, passphrase);
  const api = await HubApi.create({
    community: c,
    clock,
    log: createLogger(),
    tls: httpTls(c, passphrase, clock.now()),
    renewTls: (now) => renewHttpTlsIfDue(c, passphrase, now),
    realName: skipRealName ? new SkippedRealNameCheck() : new NoRealNameCheck(),
    enroller: lazyPipelineEnroller(() => FacePipeline.load()),
    auth: parsed.data,
  });
  await api.listen(host, port);
  return api;
}
