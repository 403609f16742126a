/**
 * The operator's reset of template adaptation (issue 17): one person's adapted templates, or every
 * person's, are deleted on the hub, the persons concerned are published again without them (the
 * upsert replaces every template a door holds for them, and survives a terminal that was offline),
 * and every active terminal is sent `adaptation.reset`, which also reaches the templates a door has
 * learnt and not yet handed to the hub. Enrolled templates are never touched. One transaction, audited.
 */
import { parseId } from '../../runtime/protocol/ids';
import { actorOf, NotFoundError, type AdminContext } from './context';
import { queueCommand } from './doors';

export interface AdaptationReset {
  /** Persons whose adapted templates the hub held, and how many each. */
  persons: Array<{ personId: string; deleted: number }>;
  /** The `adaptation.reset` commands queued, one per active terminal. */
  commands: number[];
}

export function resetAdaptation(ctx: AdminContext, input: { personId?: string } = {}): AdaptationReset {
  const actor = actorOf(ctx);
  const personId = input.personId === undefined ? null : parseId('person', input.personId);
  if (personId !== null && !ctx.store.person(personId)) throw new NotFoundError('person', personId);
  const now = ctx.clock.now();
  const store = ctx.store;
  return store.tx(() => {
    const persons = store.deleteAdaptedTemplates(personId, now);
    const command = personId === null ? { type: 'adaptation.reset' as const } : { type: 'adaptation.reset' as const, personId };
    const commands = store.terminals().filter((t) => t.status === 'active').flatMap((t) => queueCommand(ctx, { target: t.id, command }));
    store.audit(actor, 'adaptation.reset', personId ?? '*', { persons: persons.length, templates: persons.reduce((n, p) => n + p.deleted, 0), commands: commands.length }, now);
    return { persons, commands };
  });
}
