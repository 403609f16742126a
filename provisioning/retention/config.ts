/**
 * How long the hub keeps each kind of personal data (issue 16 item 4), in days: `retention` in
 * community.json. PIPL art. 19 asks for the shortest period the purpose needs; each default below
 * names its purpose. Every period is a whole number of days from 1 to 3650; a bad value makes
 * `Community.open` refuse the file (CommunityError naming `retention.<field>`), nothing is deleted.
 *
 * The hub's daily sweep (sweep.ts, run by hub/retention.ts) applies them; docs/data-inventory.md lists
 * them with everything else the system holds.
 */
import { z } from 'zod';

const days = (fallback: number) => z.number().int().min(1).max(3650).default(fallback);

export const RetentionSchema = z.strictObject({
  /**
   * Entry records and every other door event (grants, denials, releases, alarms) in events.db, and
   * visitor passes counted from their end: 90 days.
   * Purpose: answering who came through which door when a resident, the property office or the police
   * ask about an incident, which happens within weeks; and the unused-residents check (its N days can
   * be at most this). After a quarter an entry record serves nobody.
   */
  entryDays: days(90),
  /**
   * Alert sightings (events.db `alert.sighting`, hub.db `alerts`): 180 days. Purpose: a missing-person
   * or banned-person case stays open longer than an entry dispute, and the follow-up with the police
   * reads the sightings of the whole case.
   */
  sightingDays: days(180),
  /**
   * Audit rows (hub.db `audit`): 3 years. Purpose: accountability of the operators (who approved,
   * revoked, unlocked, changed access) must outlast a tenancy dispute and a yearly compliance audit
   * (PIPL art. 54); the rows name operators and person ids, never templates, photos or names.
   */
  auditDays: days(1095),
  /**
   * A registration still pending after this many days is refused as expired (its person revoked:
   * templates and selfies and the identity document's photo deleted, name and number erased): 30 days.
   * Purpose: a manager decides within days; a tenant whose request lapsed registers again.
   */
  pendingRegistrationDays: days(30),
  /**
   * A rejected registration's row (building, room, reason; its name, number and photos are erased at
   * rejection) is deleted this many days after the decision: 30 days. Purpose: answering the tenant who
   * asks why they were refused.
   */
  rejectedRegistrationDays: days(30),
  /**
   * Days after a tenant's access ended (`--until`) before their biometric data (templates, adapted
   * templates, photos) is purged through the revocation path: 30 days. Purpose: a tenant whose lease is
   * renewed late keeps their enrolment; later, a returning tenant registers again. With 40% of residents
   * moving every year, stale templates would otherwise be the largest pile of personal data kept.
   */
  tenancyGraceDays: days(30),
});
export type Retention = z.infer<typeof RetentionSchema>;

/** The documented defaults (what a community.json without `retention` gets). */
export const DEFAULT_RETENTION: Retention = RetentionSchema.parse({});

export const DAY_MS = 86_400_000;
