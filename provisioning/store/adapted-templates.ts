/**
 * Adapted templates on the hub (issue 17), hub.db `adapted_templates` (migration 7): templates the
 * terminals learnt from confident door captures and the hub accepted (provisioning/hub/adapted-templates.ts
 * checks them). Kept as the hub keeps enrolled templates (base64 float32 in hub.db, a 0600 file,
 * encrypted at rest: store/at-rest.ts, bound to the person and the template id), one
 * row each, named `adapted:<personId>:<ULID>` (runtime/roster/batch.ts). At most a bound per person: a
 * new one replaces the oldest. Deleted when the person is revoked or their enrolled templates change
 * (HubDb.savePerson), and by an operator's reset (provisioning/admin/adaptation.ts). Every change bumps
 * the person's revision, so the hub publishes the person again with the adapted templates they now have.
 */
import type Database from 'better-sqlite3';
import { openEmbedding, sealEmbedding, type AtRestCipher } from './at-rest';

export const ADAPTED_TEMPLATES_TABLE = `CREATE TABLE adapted_templates (
  template_id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  embedding TEXT NOT NULL,
  terminal_id TEXT NOT NULL,
  anchor REAL NOT NULL,
  learnt_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX adapted_templates_person ON adapted_templates (person_id, learnt_at);`;

export interface AdaptedTemplateRecord {
  templateId: string;
  personId: string;
  modelId: string;
  /** base64 of the float32 little-endian embedding, as enrolled templates are kept. */
  embedding: string;
  /** The terminal that learnt it. */
  terminalId: string;
  /** Its best score against the person's enrolled templates when the hub accepted it. */
  anchor: number;
  learntAt: number;
  receivedAt: number;
}

export interface AdaptedTemplateStore {
  /** The person's adapted templates, oldest first. */
  adaptedTemplates(personId: string): AdaptedTemplateRecord[];
  /**
   * Stores one (a template id already held is not stored again), drops the oldest beyond `maxPerPerson`
   * and bumps the person's revision, in one transaction. Returns whether it was new and what it replaced.
   */
  addAdaptedTemplate(t: AdaptedTemplateRecord, maxPerPerson: number, now: number): { added: boolean; replaced: string[] };
  /** Deletes one person's (or, with null, everyone's) adapted templates; bumps those persons' revisions. Returns them with the counts. */
  deleteAdaptedTemplates(personId: string | null, now: number): Array<{ personId: string; deleted: number }>;
}

type Row = Record<string, unknown>;

function fromRow(r: Row, atRest: AtRestCipher | null): AdaptedTemplateRecord {
  return {
    templateId: r['template_id'] as string,
    personId: r['person_id'] as string,
    modelId: r['model_id'] as string,
    embedding: openEmbedding(atRest, r['person_id'] as string, r['template_id'] as string, r['embedding'] as string),
    terminalId: r['terminal_id'] as string,
    anchor: r['anchor'] as number,
    learntAt: r['learnt_at'] as number,
    receivedAt: r['received_at'] as number,
  };
}

/** The SQLite implementation, on hub.db's connection (HubDb delegates to it). */
export class SqliteAdaptedTemplates implements AdaptedTemplateStore {
  /** `atRest`: the store's at-rest key as it is now (null until the community is unlocked). */
  constructor(
    private readonly db: Database.Database,
    private readonly atRest: () => AtRestCipher | null = () => null,
  ) {}

  adaptedTemplates(personId: string): AdaptedTemplateRecord[] {
    return (this.db.prepare('SELECT * FROM adapted_templates WHERE person_id = ? ORDER BY learnt_at, template_id').all(personId) as Row[]).map((r) => fromRow(r, this.atRest()));
  }

  addAdaptedTemplate(t: AdaptedTemplateRecord, maxPerPerson: number, now: number): { added: boolean; replaced: string[] } {
    return this.db.transaction(() => {
      const ins = this.db.prepare(`INSERT OR IGNORE INTO adapted_templates (template_id, person_id, model_id, embedding, terminal_id, anchor, learnt_at, received_at)
        VALUES (@templateId, @personId, @modelId, @embedding, @terminalId, @anchor, @learntAt, @receivedAt)`).run({ ...t, embedding: sealEmbedding(this.atRest(), t.personId, t.templateId, t.embedding) });
      if (ins.changes === 0) return { added: false, replaced: [] };
      const held = this.adaptedTemplates(t.personId);
      const replaced = held.slice(0, Math.max(0, held.length - maxPerPerson)).map((r) => r.templateId);
      const del = this.db.prepare('DELETE FROM adapted_templates WHERE template_id = ?');
      for (const id of replaced) del.run(id);
      this.bump(t.personId, now);
      return { added: true, replaced };
    }).immediate();
  }

  deleteAdaptedTemplates(personId: string | null, now: number): Array<{ personId: string; deleted: number }> {
    return this.db.transaction(() => {
      const counts = (personId === null
        ? this.db.prepare('SELECT person_id, COUNT(*) AS n FROM adapted_templates GROUP BY person_id ORDER BY person_id').all()
        : this.db.prepare('SELECT person_id, COUNT(*) AS n FROM adapted_templates WHERE person_id = ? GROUP BY person_id').all(personId)) as Array<{ person_id: string; n: number }>;
      const del = this.db.prepare('DELETE FROM adapted_templates WHERE person_id = ?');
      for (const c of counts) {
        del.run(c.person_id);
        this.bump(c.person_id, now);
      }
      return counts.map((c) => ({ personId: c.person_id, deleted: c.n }));
    }).immediate();
  }

  /** Deletes the person's adapted templates without a revision bump (the caller's change bumps it). */
  forget(personId: string): number {
    return this.db.prepare('DELETE FROM adapted_templates WHERE person_id = ?').run(personId).changes;
  }

  private bump(personId: string, now: number): void {
    this.db.prepare("UPDATE persons SET rev = rev + 1, updated_at = ? WHERE person_id = ? AND status = 'active'").run(now, personId);
  }
}
