/**
 * The SQLite half of the registration questions the hub's store answers (HubStore's PersonStore) that
 * are not about the person row itself. HubDb (provisioning/db.ts) delegates to it. The tenant app's
 * registration queue (provisioning/api/registrations.ts) still runs its own SQL on hub.db: the next
 * piece to move behind the interface (docs/scaling.md lists what is left).
 */
import type Database from 'better-sqlite3';

export class SqliteRegistrations {
  private readonly byPerson: Database.Statement;

  constructor(db: Database.Database) {
    this.byPerson = db.prepare('SELECT id FROM registrations WHERE person_id = ?');
  }

  /** The id of the tenant registration a person came from, or null (added by `provision person add`). */
  registrationIdOf(personId: string): string | null {
    return (this.byPerson.get(personId) as { id: string } | undefined)?.id ?? null;
  }
}
