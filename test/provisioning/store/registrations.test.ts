/**
 * The registration a person came from, answered by the hub's store (HubStore.registrationIdOf) rather
 * than by SQL in the API's routes, on a real hub.db.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubDb } from '../../../provisioning/db';
import type { HubStore } from '../../../provisioning/store/hub-store';

describe('HubStore.registrationIdOf', () => {
  it("names the tenant registration a person came from, and null for a person added by staff or unknown", () => {
    const db = new HubDb(join(mkdtempSync(join(tmpdir(), 'hub-registrations-')), 'hub.db'));
    try {
      db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
        VALUES ('reg-1', 'r-1', 'x', '1***', 'b-001', '1-101', '[]', 'verified', 'pending', 1)`).run();
      const store: HubStore = db;
      expect(store.registrationIdOf('r-1')).toBe('reg-1');
      expect(store.registrationIdOf('p-added-by-staff')).toBeNull();
    } finally {
      db.close();
    }
  });
});
