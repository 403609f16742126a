/**
 * `provision hub [renew | key-file --out PATH | rotate-key]`: run the community's hub (provisioning/hub/main.ts), with
 * `--http HOST:PORT` also its HTTPS API (provisioning/api/), with `--updates HOST:PORT` its bundle server
 * for terminals (provisioning/update/hub-bundles.ts) and so staged rollouts; or renew its certificate;
 * or write the at-rest key to a key file (provisioning/at-rest-key.ts) for `--key-file PATH`, which
 * unlocks the templates and photos with that file instead of the passphrase; or replace that key (the
 * hub stopped): everything sealed again, key files written before useless.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SystemClock, type Clock } from '../../core/clock';
import { InvalidInputError } from '../../core/errors';
import { createLogger } from '../../core/log';
import { FacePipeline } from '../../models/pipeline';
import { parseCli } from '../../runtime/command-line';
import { lazyPipelineEnroller } from '../admin/enrol';
import { rotateAtRestKey, unlockCommunity, writeAtRestKeyFile } from '../at-rest-key';
import { renewHub } from '../admin/certificates';
import { NoRealNameCheck, SkippedRealNameCheck } from '../api/realname';
import { HubApi } from '../api/server';
import { serveApi } from '../api/endpoint';
import { Community, WebhookUrlSchema } from '../community';
import { AuthConfigSchema } from '../operators/config';
import { startCommunityHub } from '../hub/main';
import { startHubBundleServer } from '../update/hub-bundles';
import { Rollouts } from '../update/rollouts';
import { rootContext, common, commonSchema, communityDir, positionals, readPassphrase, time, withCommunity, type Command } from './common';

const HostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT');

function hostAndPort(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(at + 1)) };
}

export const hubCommand: Command = async (args, io) => {
  const o = parseCli('hub', args, { ...common, webhook: { type: 'string' }, 'poll-ms': { type: 'string' }, http: { type: 'string' }, updates: { type: 'string' }, 'auth-config': { type: 'string' }, 'real-name-check': { type: 'string' }, 'key-file': { type: 'string' }, out: { type: 'string' } },
    z.strictObject({
      ...commonSchema, webhook: WebhookUrlSchema.optional(), 'poll-ms': z.coerce.number().int().min(20).max(60_000).optional(),
      http: HostPort.optional(), updates: HostPort.optional(), 'auth-config': z.string().min(1).optional(), 'real-name-check': z.literal('off').optional(),
      'key-file': z.string().min(1).optional(), out: z.string().min(1).optional(),
    }));
  if (o.positionals[0] === 'rotate-key') {
    positionals('hub rotate-key', o.positionals, 1);
    return withCommunity(o.dir, async (c) => {
      const passphrase = await readPassphrase();
      c.checkPassphrase(passphrase);
      const r = rotateAtRestKey(c, passphrase, new SystemClock().now());
      io.out(`at-rest key replaced by ${r.keyId}: sealed again ${r.persons} persons' templates, ${r.adaptedTemplates} adapted templates, ${r.photos} photos; key files written before open nothing any more (write a new one with provision hub key-file)`);
      return 0;
    });
  }
  if (o.positionals[0] === 'key-file') {
    positionals('hub key-file', o.positionals, 1);
    const out = o.out;
    if (out === undefined) throw new InvalidInputError('hub key-file', ['--out PATH: where to write the key file (0600, not over an existing file)']);
    return withCommunity(o.dir, async (c) => {
      const { keyId } = writeAtRestKeyFile(c, await readPassphrase(), out);
      io.out(`at-rest key ${keyId} written to ${out} (0600): keep it outside the community folder; start the hub with --key-file ${out}`);
      return 0;
    });
  }
  if (o.positionals[0] === 'renew') {
    positionals('hub renew', o.positionals, 1);
    return withCommunity(o.dir, async (c) => {
      const r = renewHub(rootContext(c, await readPassphrase()));
      io.out(`hub certificate renewed until ${time(r.notAfter)}; a running hub uses it from its next connection (restart it to use it now)`);
      return 0;
    });
  }
  positionals('hub', o.positionals, 0);
  const c = Community.open(communityDir(o.dir));
  const passphrase = await readPassphrase();
  c.checkPassphrase(passphrase);
  const clock = new SystemClock();
  const log = createLogger();
  // Templates and photos: unlocked here, before anything else starts (a wrong key changes nothing).
  const sealed = unlockCommunity(c, o['key-file'] !== undefined ? { keyFile: o['key-file'] } : { passphrase }, clock.now());
  if (sealed) io.err(`encrypted in place what was kept in clear: ${sealed.persons} persons' templates, ${sealed.adaptedTemplates} adapted templates, ${sealed.photos} photos`);
  // --updates: the bundle server for terminals (mutual TLS, a port of its own), and rollouts that offer its bundles
  const bundles = o.updates ? await startHubBundleServer(c, { passphrase, ...hostAndPort(o.updates), now: clock.now(), log }) : null;
  const rollouts = new Rollouts({ community: c, clock, log, bundleUrl: bundles ? (name) => bundles.url(name) : null });
  if (bundles) io.err(`bundles for terminals on ${o.updates ?? ''} (mutual TLS), offered as ${bundles.url('NAME.bundle')}`);
  const hub = await startCommunityHub({
    community: c,
    passphrase,
    clock,
    log,
    rollouts,
    ...(o.webhook ? { webhookUrl: o.webhook } : {}),
    ...(o['poll-ms'] ? { pollMs: o['poll-ms'] } : {}),
  });
  io.err(`hub running for "${c.config.name}" on ${c.config.brokerUrl}, roster version ${hub.version()}`);
  const served = o.http ? await startHttpApi(c, passphrase, clock, o.http, o['auth-config'], o['real-name-check'] === 'off', rollouts) : null;
  if (served) io.err(`hub API on https://${o.http ?? ''} (OpenAPI at /api/openapi.json; root on this machine reaches it at ${served.url})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await served?.api.close();
  await bundles?.close();
  await hub.stop();
  c.close();
  return 0;
};

/** The hub's HTTPS API beside the MQTT side (provisioning/api/), its address recorded for root on the folder. */
async function startHttpApi(c: Community, passphrase: string, clock: Clock, hostPort: string, authConfigFile: string | undefined, skipRealName: boolean, rollouts: Rollouts): Promise<{ api: HubApi; url: string }> {
  const { host, port } = hostAndPort(hostPort);
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
  return serveApi({
    community: c,
    passphrase,
    clock,
    log: createLogger(),
    realName: skipRealName ? new SkippedRealNameCheck() : new NoRealNameCheck(),
    enroller: lazyPipelineEnroller(() => FacePipeline.load()),
    auth: parsed.data,
    rollouts,
    host,
    port,
  });
}
