/** A community with its update key, for the update tests that build bundles (see update.ts). */
import { join } from 'node:path';
import { Community, initCommunity } from '../../provisioning/community';
import { tempDir } from './update';

export const PASSPHRASE = 'update test passphrase';

/** A new community (CA, roster key) in a temporary folder; its update key is made on first use. */
export function makeCommunity(name = 'update test community'): Community {
  return initCommunity({ dir: join(tempDir('community'), 'c'), passphrase: PASSPHRASE, name, now: Date.now(), actor: 'test-operator' });
}
