/**
 * Adapted templates from this terminal to the hub (issue 17): each template learnt at the door
 * (runtime/roster/local-adaptation.ts) is sealed to the hub's X25519 key (runtime/protocol/sealed.ts)
 * and published on door/<id>/templates (runtime/protocol/templates.ts). The embedding never crosses
 * the broker in clear, and this terminal keeps no copy of the box. While the hub is not connected the
 * sealed messages wait here, in memory and bounded (the oldest is dropped first); a restart loses
 * them, and the template with them: the next confident passage teaches it again.
 */
import type { KeyObject } from 'node:crypto';
import { ulid } from 'ulid';
import type { Logger } from '../../core/log';
import { sealTo } from '../protocol/sealed';
import { SCHEMA_VERSION } from '../protocol/schemas';
import { templateAad, type TemplateAdaptedMessage } from '../protocol/templates';
import { encodeEmbedding } from '../roster/batch';
import type { LearntTemplate } from '../roster/local-adaptation';

export interface TemplateUplinkDeps {
  terminalId: string;
  /** The hub's X25519 sealing public key, pinned at provisioning. */
  hubSealKey: KeyObject;
  /** Publishes one message now; false when the hub is not connected (it is kept and sent later). */
  publish: (payload: string) => boolean;
  log: Logger;
  /** Sealed messages kept while disconnected (default 32). */
  maxPending?: number;
}

export class TemplateUplink {
  private pending: string[] = [];
  private readonly log: Logger;
  dropped = 0;

  constructor(private readonly deps: TemplateUplinkDeps) {
    this.log = deps.log.child({ module: 'template-uplink' });
  }

  /** Seals one learnt template to the hub and sends it (or keeps it until the hub is connected). */
  send(t: LearntTemplate): void {
    const head = { terminalId: this.deps.terminalId, personId: t.personId, modelId: t.modelId, id: ulid(t.at), at: t.at };
    const sealed = sealTo(this.deps.hubSealKey, Buffer.from(encodeEmbedding(t.embedding), 'base64'), templateAad(head));
    const msg: TemplateAdaptedMessage = { v: SCHEMA_VERSION, kind: 'template.adapted', ...head, sealed };
    this.pending.push(JSON.stringify(msg));
    const max = this.deps.maxPending ?? 32;
    while (this.pending.length > max) {
      this.pending.shift();
      this.dropped += 1;
    }
    this.flush();
  }

  /** Sends what waits (call on every connection to the hub). */
  flush(): void {
    while (this.pending.length > 0) {
      const next = this.pending[0] as string;
      if (!this.deps.publish(next)) return;
      this.pending.shift();
      this.log.info('adapted template sent to the hub');
    }
  }

  get waiting(): number {
    return this.pending.length;
  }
}
