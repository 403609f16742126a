/**
 * Software updates (provisioning/update/README.md): a signed bundle of a built runtime folder, and
 * the community's update key (made on first use, encrypted with the passphrase, apart from the roster
 * key). Staged rollouts come with the hub's HTTP service.
 */
import { buildBundle, type BuildOptions, type BuiltBundle } from '../update/build';
import { ensureUpdateKey, type UpdateKeyPaths } from '../update/keys';
import { actorOf, passphraseOf, type AdminContext } from './context';

export type BuildUpdateInput = Omit<BuildOptions, 'passphrase' | 'actor' | 'now'>;

export function buildUpdate(ctx: AdminContext, input: BuildUpdateInput): Promise<BuiltBundle> {
  return buildBundle(ctx.community, { ...input, passphrase: passphraseOf(ctx), actor: actorOf(ctx), now: ctx.clock.now() });
}

/** The update key's public half (made now if there is none yet). */
export function updateKey(ctx: AdminContext): { created: boolean; paths: UpdateKeyPaths } {
  return ensureUpdateKey(ctx.community, passphraseOf(ctx));
}
