/**
 * Software updates (provisioning/update/README.md): a signed bundle of a built runtime folder, the
 * community's update key (made on first use, encrypted with the passphrase, apart from the roster key),
 * publishing a bundle on the hub's shelf (checked as a terminal would first), and the templates a bundle's
 * new embedding model needs (update/templates.ts). Rollouts run in the
 * hub (provisioning/update/rollouts.ts) and are asked for through its API.
 */
import type { Arch } from '../../runtime/update/manifest';
import { buildBundle, type BuildOptions, type BuiltBundle } from '../update/build';
import { publishBundle, type PublishedBundle } from '../update/bundles';
import { ensureUpdateKey, type UpdateKeyPaths } from '../update/keys';
import { prepareTemplates, type PreparedTemplates } from '../update/templates';
import { actorOf, passphraseOf, type AdminContext } from './context';

export type BuildUpdateInput = Omit<BuildOptions, 'passphrase' | 'actor' | 'now'>;

export function buildUpdate(ctx: AdminContext, input: BuildUpdateInput): Promise<BuiltBundle> {
  return buildBundle(ctx.community, { ...input, passphrase: passphraseOf(ctx), actor: actorOf(ctx), now: ctx.clock.now() });
}

/** The update key's public half (made now if there is none yet). */
export function updateKey(ctx: AdminContext): { created: boolean; paths: UpdateKeyPaths } {
  return ensureUpdateKey(ctx.community, passphraseOf(ctx));
}

/** Puts a bundle on the hub's shelf after checking it as a terminal of `arch` would; refused with the terminal's reason. */
export function publishUpdate(ctx: AdminContext, input: { file: string; arch: Arch }): Promise<PublishedBundle> {
  return publishBundle(ctx.community, input.file, { arch: input.arch, actor: actorOf(ctx), now: ctx.clock.now() });
}

/** Each active person's templates of a published bundle's embedding model, made from their enrolment photos with the bundle's models. */
export function prepareUpdateTemplates(ctx: AdminContext, input: { version: string }): Promise<PreparedTemplates> {
  return prepareTemplates(ctx.community, { version: input.version, actor: actorOf(ctx), now: ctx.clock.now() });
}
