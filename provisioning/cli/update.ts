/**
 * `provision update build|key`: signed software bundles and the update key (provisioning/admin/updates.ts),
 * on the community folder with the passphrase (audited as root): they use the update signing key, which
 * never leaves the folder.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { buildUpdate, updateKey } from '../admin/updates';
import { rootContext, common, commonSchema, list, readPassphrase, withCommunity, type Command } from './common';

export const updateCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`update ${sub ?? ''}`, rest, { ...common, from: { type: 'string' }, version: { type: 'string' }, replaces: { type: 'string', multiple: true }, out: { type: 'string' }, arch: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, from: z.string().min(1).optional(), version: z.string().optional(), replaces: z.array(z.string()).optional(), out: z.string().min(1).optional(), arch: z.enum(['arm64', 'x64']).optional(), json: z.boolean().optional() }));
  return withCommunity(o.dir, async (c) => {
    switch (sub ?? '') {
      case 'build': {
        if (!o.from || !o.version || !o.out || !o.replaces) throw new InvalidInputError('update build', ['--from, --version, --replaces and --out are required']);
        const ctx = rootContext(c, await readPassphrase());
        const b = await buildUpdate(ctx, { from: o.from, version: o.version, replaces: list(o.replaces) ?? [], out: o.out, ...(o.arch ? { arch: o.arch } : {}) });
        const summary = { file: b.file, version: b.manifest.version, arch: b.manifest.arch, replaces: b.manifest.replaces, files: b.manifest.files.length, embedModel: b.manifest.models.embed, size: b.size, sha256: b.sha256 };
        io.out(o.json ? JSON.stringify(summary, null, 2) : `bundle ${b.manifest.version} (${b.manifest.arch}, replaces ${b.manifest.replaces.join(', ')}) written to ${b.file}: ${summary.files} files, ${b.size} bytes, sha256 ${b.sha256}`);
        return 0;
      }
      case 'key': {
        const { created, paths } = updateKey(rootContext(c, await readPassphrase()));
        io.out(o.json ? JSON.stringify({ publicKeyFile: paths.pub, created }) : `${created ? 'created' : 'update key'}: ${paths.pub} (copy it into terminal bundles as update-signing.pub)`);
        return 0;
      }
      default:
        throw new InvalidInputError('update', ['expected build or key (rollout waits for the hub HTTP service)']);
    }
  });
};
