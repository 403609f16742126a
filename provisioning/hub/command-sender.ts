/**
 * Signed commands to one terminal (never retained; a nonce and a short lifetime). With a store, every
 * tick sends the queued ones (`provision door unlock`, `config push`, `terminal wipe/resync`) while they
 * are fresh: each is marked `sent` and audited as `command.sent` with its nonce (the command's id on
 * the terminal), `expired` when older than the lifetime, or `refused` for a terminal not active.
 */
import { randomBytes } from 'node:crypto';
import { SCHEMA_VERSION, type Command, type CommandBody } from '../../runtime/protocol/schemas';
import { signBody } from '../../runtime/protocol/signing';
import { topicsFor } from '../../runtime/protocol/topics';
import type { HubContext, HubPart } from './context';

export class CommandSender<Item> implements HubPart {
  constructor(private readonly ctx: HubContext<Item>) {}

  private get ttl(): number {
    return this.ctx.options.commandTtlMs ?? 30_000;
  }

  /** Sign and send one command to one terminal. */
  async send(terminalId: string, command: Command): Promise<CommandBody> {
    const now = this.ctx.clock.now();
    const body: CommandBody = {
      v: SCHEMA_VERSION,
      kind: 'command',
      terminalId,
      nonce: randomBytes(16).toString('base64url'),
      issuedAt: now,
      expiresAt: now + this.ttl,
      command,
    };
    await this.ctx.transport.publish(topicsFor(terminalId).commands, signBody(body, this.ctx.signingKey), { retain: false });
    return body;
  }

  async tick(): Promise<void> {
    const store = this.ctx.store;
    if (!store) return;
    for (const cmd of store.queuedCommands()) {
      const now = this.ctx.clock.now();
      if (!this.ctx.isActive(cmd.terminalId)) {
        store.finishCommand(cmd.id, 'refused', now);
      } else if (now - cmd.requestedAt > this.ttl) {
        store.finishCommand(cmd.id, 'expired', now);
      } else {
        try {
          const body = await this.send(cmd.terminalId, cmd.command);
          store.tx(() => {
            store.finishCommand(cmd.id, 'sent', now);
            store.audit('hub', 'command.sent', cmd.terminalId, { id: cmd.id, type: cmd.command.type, commandId: body.nonce, requestedBy: cmd.requestedBy }, now);
          });
        } catch (err) {
          this.ctx.log.warn({ terminal: cmd.terminalId, err: String(err) }, 'command not sent yet');
        }
      }
    }
  }
}
