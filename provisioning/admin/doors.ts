/**
 * Commands to running terminals, queued in the store for the running hub to sign and send while they
 * are fresh (provisioning/hub/command-sender.ts): a remote unlock of a door (or one terminal), a
 * roster resync, a configuration reload, a wipe. Each queued command is audited with the operator; an
 * unlock carries the operator as `requestedBy`, which the terminal records with the release.
 */
import { TerminalError } from '../../core/errors';
import { parseId } from '../../runtime/protocol/ids';
import type { Command } from '../../runtime/protocol/schemas';
import type { CommandRecord } from '../db';
import { actorOf, NotFoundError, type AdminContext } from './context';

/** A wipe asked for without its confirmation. */
export class WipeNotConfirmedError extends TerminalError {
  readonly code = 'wipe-not-confirmed';
}

/** A command as an operator asks for it: an unlock names its requester from the actor, not from the caller. */
export type CommandRequest = Exclude<Command, { type: 'unlock' }> | Omit<Extract<Command, { type: 'unlock' }>, 'requestedBy'>;

export interface QueuedCommand {
  id: number;
  terminalId: string;
  status: CommandRecord['status'];
}

/**
 * Queue a signed command for the running hub; `target` is a terminal id or a door id (every active
 * terminal at that door). Returns the command ids.
 */
export function queueCommand(ctx: AdminContext, input: { target: string; command: CommandRequest }): number[] {
  const target = parseId('door or terminal', input.target);
  const store = ctx.store;
  const terminals = store.terminals().filter((t) => t.status === 'active' && (t.id === target || t.doorId === target));
  if (terminals.length === 0) throw new NotFoundError('terminal', target, `no active terminal or door ${target}`);
  const now = ctx.clock.now();
  const actor = actorOf(ctx);
  const request = input.command;
  const command: Command = request.type === 'unlock' ? { ...request, requestedBy: actor } : request;
  return store.tx(() =>
    terminals.map((t) => {
      const id = store.queueCommand(t.id, command, actor, now);
      store.audit(actor, `command.${command.type}`, t.id, { command, target }, now);
      return id;
    }),
  );
}

/** One active terminal by its exact id (never a door id: a wipe must not reach more terminals than named). */
function activeTerminal(ctx: AdminContext, id: string): string {
  const terminalId = parseId('terminal', id);
  if (!ctx.store.terminals().some((t) => t.id === terminalId && t.status === 'active')) throw new NotFoundError('terminal', terminalId, `no active terminal ${terminalId}`);
  return terminalId;
}

/** Release a door (every active terminal at it) or one terminal's door for `seconds` (default 5). */
export function unlockDoor(ctx: AdminContext, input: { target: string; seconds?: number }): number[] {
  return queueCommand(ctx, { target: input.target, command: { type: 'unlock', durationMs: (input.seconds ?? 5) * 1000 } });
}

/** The terminal fetches a full roster snapshot (also ends a wipe). */
export function resyncTerminal(ctx: AdminContext, input: { id: string }): number[] {
  return queueCommand(ctx, { target: activeTerminal(ctx, input.id), command: { type: 'resync' } });
}

/**
 * Erase every face template and person on one terminal (stolen, decommissioned): its door recognises
 * nobody until a resync. Refused unless `confirm` is true.
 */
export function wipeTerminal(ctx: AdminContext, input: { id: string; confirm: boolean }): number[] {
  const id = activeTerminal(ctx, input.id);
  if (!input.confirm) {
    throw new WipeNotConfirmedError(`this erases every face template and person on ${id}, and its door recognises nobody until "provision terminal resync ${id}": add --yes to confirm`);
  }
  return queueCommand(ctx, { target: id, command: { type: 'wipe' } });
}

/** Ask one terminal, or every active one, to reload its configuration. */
export function pushConfig(ctx: AdminContext, input: { terminalId?: string } = {}): number[] {
  const targets = input.terminalId !== undefined ? [input.terminalId] : ctx.store.terminals().filter((t) => t.status === 'active').map((t) => t.id);
  return targets.flatMap((t) => queueCommand(ctx, { target: t, command: { type: 'reload-config' } }));
}

/** The commands as the hub left them (queued, sent, expired, refused). */
export function commandStatus(ctx: AdminContext, input: { ids: readonly number[] }): QueuedCommand[] {
  return input.ids.map((id) => ctx.store.command(id)).filter((x) => x !== null).map((x) => ({ id: x.id, terminalId: x.terminalId, status: x.status }));
}

/** Wait on the context's clock until the hub has handled the commands (sent, expired or refused), or `timeoutMs` (0: look once, do not wait). */
export async function awaitCommands(ctx: AdminContext, input: { ids: readonly number[]; timeoutMs: number }): Promise<QueuedCommand[]> {
  const deadline = ctx.clock.monotonic() + input.timeoutMs;
  for (;;) {
    const cmds = commandStatus(ctx, input);
    if (cmds.every((x) => x.status !== 'queued') || ctx.clock.monotonic() >= deadline) return cmds;
    await new Promise<void>((r) => ctx.clock.setTimeout(r, 100));
  }
}
