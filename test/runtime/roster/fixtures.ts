import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEmbedding, type PersonUpsert } from '../../../runtime/roster/batch';
import { rng, unitVector } from '../../fixtures/random';

export { rng, unitVector };

export const MODEL = 'faceplugin-fr_feature@0.0.1';

/** A fresh temp folder with a 0600 device secret; `cleanup()` removes it. */
export function tempRoster(): { dir: string; path: string; secretFile: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-roster-'));
  const secretFile = join(dir, 'device.secret');
  writeSecret(secretFile);
  return { dir, path: join(dir, 'roster.db'), secretFile, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeSecret(file: string, bytes = 32, mode = 0o600): void {
  writeFileSync(file, randomBytes(bytes), { mode });
  chmodSync(file, mode);
}



/** `base` moved towards a random direction: cosine to base about 1 - noise^2/2. */
export function near(base: Float32Array, rand: () => number, noise: number): Float32Array {
  const r = unitVector(rand, base.length);
  const v = new Float32Array(base.length);
  let sq = 0;
  for (let d = 0; d < base.length; d++) {
    v[d] = (base[d] ?? 0) + noise * (r[d] ?? 0);
    sq += (v[d] ?? 0) ** 2;
  }
  const n = Math.sqrt(sq);
  for (let d = 0; d < base.length; d++) v[d] = (v[d] ?? 0) / n;
  return v;
}

export function person(personId: string, embeddings: Float32Array[], extra: Partial<PersonUpsert> = {}): PersonUpsert {
  return {
    personId,
    templates: embeddings.map((e, i) => ({ templateId: `${personId}-t${i}`, modelId: MODEL, embedding: encodeEmbedding(e) })),
    authorisations: [{ doorIds: ['door-1'], buildingIds: [] }],
    tags: [],
    ...extra,
  };
}

/** Float64 brute-force cosine, best per person, sorted (the reference the matcher must equal). */
export function bruteForce(query: Float32Array, items: { personId: string; templateId: string; embedding: Float32Array }[], k: number) {
  let qq = 0;
  for (let d = 0; d < query.length; d++) qq += (query[d] ?? 0) ** 2;
  const qn = Math.sqrt(qq);
  const best = new Map<string, { personId: string; templateId: string; score: number }>();
  for (const it of items) {
    let dot = 0;
    let xx = 0;
    for (let d = 0; d < query.length; d++) {
      dot += ((query[d] ?? 0) / qn) * (it.embedding[d] ?? 0);
      xx += (it.embedding[d] ?? 0) ** 2;
    }
    const s = dot / Math.sqrt(xx);
    const cur = best.get(it.personId);
    if (!cur || s > cur.score) best.set(it.personId, { personId: it.personId, templateId: it.templateId, score: s });
  }
  return [...best.values()].sort((a, b) => b.score - a.score || (a.personId < b.personId ? -1 : 1)).slice(0, k);
}
