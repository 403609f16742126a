/**
 * `provision update ...`: signed software bundles and staged rollouts (provisioning/update/README.md).
 *
 *   build, key, publish,         on the community folder (provisioning/admin/updates.ts, update/bundles.ts,
 *   templates                    update/templates.ts)
 *   rollout, pause, resume,      calls to the running hub's API (HubClient), which owns the rollout: it
 *   abort, status                serves the bundles and hears the terminals
 *
 * The API calls use the command line's credential (connect.ts: a login, an API token, or the community
 * passphrase as root with the folder's root request key and the address the hub recorded).
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli, type CliIo } from '../../runtime/command-line';
import { buildUpdate, prepareUpdateTemplates, publishUpdate, updateKey } from '../admin/updates';
import type { RolloutView } from '../api/client';
import { rootContext, common, commonSchema, list, positionals, readPassphrase, time, withCommunity, type Command } from './common';
import { connect } from './connect';

/** `10%,50%,100%` (or 10,50,100) as numbers. */
function percentages(v: string[] | undefined): number[] | undefined {
  const items = list(v);
  if (items === undefined) return undefined;
  return items.map((s) => {
    const m = /^(\d{1,3})%?$/.exec(s);
    if (!m) throw new InvalidInputError('--waves', [`${s} is not a percentage (10%,50%,100%)`]);
    return Number(m[1]);
  });
}

function printRollout(io: CliIo, r: RolloutView): void {
  io.out(`rollout ${r.id} of ${r.version} (${r.bundle}): ${r.phase}; wave ${r.opened} of ${r.waves.length}; failures ${r.failures} of at most ${r.maxFailures}; started by ${r.startedBy} at ${time(r.startedAt)}`);
  io.out(['terminal', 'wave', 'rollout', 'reason', 'online', 'version', 'update'].join('\t'));
  for (const t of r.terminals) io.out([t.terminalId, t.wave, t.status, t.reason ?? '-', t.online ? 'online' : 'offline', t.version ?? '-', t.updateState ?? '-'].join('\t'));
}

export const updateCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(
    `update ${sub ?? ''}`,
    rest,
    {
      ...common,
      from: { type: 'string' }, version: { type: 'string' }, replaces: { type: 'string', multiple: true }, out: { type: 'string' }, arch: { type: 'string' }, json: { type: 'boolean' },
      publish: { type: 'boolean' }, canary: { type: 'string', multiple: true }, waves: { type: 'string', multiple: true }, 'max-failures': { type: 'string' }, log: { type: 'boolean' },
    },
    z.strictObject({
      ...commonSchema,
      from: z.string().min(1).optional(), version: z.string().optional(), replaces: z.array(z.string()).optional(), out: z.string().min(1).optional(), arch: z.enum(['arm64', 'x64']).optional(), json: z.boolean().optional(),
      publish: z.boolean().optional(), canary: z.array(z.string()).optional(), waves: z.array(z.string()).optional(), 'max-failures': z.coerce.number().int().min(0).optional(), log: z.boolean().optional(),
    }),
  );
  const show = (v: unknown, text: () => void): void => (o.json ? io.out(JSON.stringify(v, null, 2)) : text());
  // Through the hub's API (connect.ts): no community folder needed.
  switch (sub ?? '') {
    case 'rollout': {
      positionals('update rollout', o.positionals, 0);
      if (!o.version) throw new InvalidInputError('update rollout', ['--version is required']);
      const waves = percentages(o.waves);
      const canary = list(o.canary);
      const r = await (await connect(o.dir)).updates.rollout({ version: o.version, ...(canary ? { canary } : {}), ...(waves ? { waves } : {}), ...(o['max-failures'] !== undefined ? { maxFailures: o['max-failures'] } : {}) });
      show(r, () => printRollout(io, r));
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'abort': {
      positionals(`update ${sub ?? ''}`, o.positionals, 0);
      const client = await connect(o.dir);
      const r = await (sub === 'pause' ? client.updates.pause() : sub === 'resume' ? client.updates.resume() : client.updates.abort());
      show(r, () => printRollout(io, r));
      return 0;
    }
    case 'status': {
      positionals('update status', o.positionals, 0);
      const client = await connect(o.dir);
      const s = await client.updates.status();
      const log = o.log ? await client.updates.log() : null;
      show({ ...s, ...(log ? { log: log.lines } : {}) }, () => {
        io.out(`published: ${s.published.join(', ') || 'none'}; ${s.serving ? 'the hub serves bundles' : 'the hub serves no bundles (start it with --updates HOST:PORT)'}`);
        if (s.rollout) printRollout(io, s.rollout);
        else io.out('no rollout yet');
        for (const l of log?.lines ?? []) io.out(`${time(l.at)}  ${l.line}`);
      });
      return 0;
    }
  }
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'build': {
        positionals('update build', o.positionals, 0);
        if (!o.from || !o.version || !o.out || !o.replaces) throw new InvalidInputError('update build', ['--from, --version, --replaces and --out are required']);
        const ctx = rootContext(c, await readPassphrase());
        const b = await buildUpdate(ctx, { from: o.from, version: o.version, replaces: list(o.replaces) ?? [], out: o.out, ...(o.arch ? { arch: o.arch } : {}) });
        const published = o.publish ? await publishUpdate(ctx, { file: b.file, arch: b.manifest.arch }) : null;
        const summary = { file: b.file, version: b.manifest.version, arch: b.manifest.arch, replaces: b.manifest.replaces, files: b.manifest.files.length, embedModel: b.manifest.models.embed, size: b.size, sha256: b.sha256, published: published?.name ?? null };
        show(summary, () => {
          io.out(`bundle ${b.manifest.version} (${b.manifest.arch}, replaces ${b.manifest.replaces.join(', ')}) written to ${b.file}: ${summary.files} files, ${b.size} bytes, sha256 ${b.sha256}`);
          if (published) io.out(`published as ${published.name}: the hub serves it to terminals; roll it out with provision update rollout --version ${b.manifest.version}`);
        });
        return 0;
      }
      case 'key': {
        positionals('update key', o.positionals, 0);
        const { created, paths } = updateKey(rootContext(c, await readPassphrase()));
        io.out(o.json ? JSON.stringify({ publicKeyFile: paths.pub, created }) : `${created ? 'created' : 'update key'}: ${paths.pub} (copy it into terminal bundles as update-signing.pub)`);
        return 0;
      }
      case 'publish': {
        const [file] = positionals('update publish', o.positionals, 1);
        if (!file) throw new InvalidInputError('update publish', ['give the bundle file: provision update publish FILE [--arch arm64|x64]']);
        const p = await publishUpdate(rootContext(c, await readPassphrase()), { file, arch: o.arch ?? 'arm64' });
        show({ name: p.name, version: p.manifest.version, arch: p.manifest.arch, replaces: p.manifest.replaces, sha256: p.sha256, already: p.already }, () =>
          io.out(`${p.already ? 'already published' : 'published'}: ${p.name} (${p.manifest.version}, ${p.manifest.arch}, replaces ${p.manifest.replaces.join(', ')}); roll it out with provision update rollout --version ${p.manifest.version}`));
        return 0;
      }
      case 'templates': {
        positionals('update templates', o.positionals, 0);
        if (!o.version) throw new InvalidInputError('update templates', ['--version is required']);
        const r = await prepareUpdateTemplates(rootContext(c, await readPassphrase()), { version: o.version });
        show(r, () => {
          io.out(`templates of ${r.model} (the embedding model of ${r.version}): made for ${r.added.length} person(s), ${r.unchanged} needed none${r.failed.length ? `, ${r.failed.length} failed` : ''}`);
          for (const f of r.failed) io.out(`  ${f.personId}: ${f.reason}`);
        });
        return r.failed.length === 0 ? 0 : 1;
      }
      default:
        throw new InvalidInputError('update', ['expected build, key, publish, templates, rollout, pause, resume, abort or status']);
    }
  });
};
