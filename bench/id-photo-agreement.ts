/**
 * The identity-document photo measurement of `npm run eval:id-photo` and `npm run eval:faces`: how
 * well an identity-document photo agrees with app selfies (issue 17 item 4), to choose the enrolment agreement thresholds per kind of pair (runtime/tools/enrol.ts
 * AGREEMENT). No real ID photos are available: photos of one person years or sessions apart stand in
 * for "ID photo with selfie" (../shared/data/faces-calib identities: press photos of different events
 * and years, NUAA webcam sessions weeks apart); photos of one sitting stand in for "selfie with selfie"
 * (the 11 franck stills; each NUAA volunteer's session-1 crops in faces-calib and spoof-calib; the
 * held-out woman's selfie and a frame of her selfie video). Impostors: every pair of different people
 * among all of these. Largest face per photo, with or without its quality gates (reported).
 */
import { join } from 'node:path';
import { decodeImage } from '../models/decode';
import { cosine } from '../models/embedder';
import type { FacePipeline } from '../models/pipeline';
import { AGREEMENT } from '../runtime/tools/enrol';
import { facesCalib, heldOutStills, NO_SHARED_DATA, type Group } from '../test/fixtures/calib';
import { FRANCK_STILLS, testFile } from '../test/fixtures/photos';
import { percentile } from './stats';

interface Face { identity: string; group: Group; session: string; name: string; emb: Float32Array; gated: boolean }

export type IdPhotoAgreement = Awaited<ReturnType<typeof measureIdPhotoAgreement>>;

/** The measurement, with a loaded pipeline (closed by the caller); `data` the shared data folder or null. */
export async function measureIdPhotoAgreement(p: FacePipeline, data: string | null) {
  const faces: Face[] = [];
  const add = async (file: string, identity: string, group: Group, session: string, name: string): Promise<void> => {
    const all = await p.process(await decodeImage(file), { liveness: false });
    const f = all.reduce<(typeof all)[number] | null>((b, x) => (b === null || (x.box[2] - x.box[0]) * (x.box[3] - x.box[1]) > (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]) ? x : b), null);
    if (f?.embedding) faces.push({ identity, group, session, name, emb: f.embedding, gated: !f.quality.ok });
  };
  for (const f of FRANCK_STILLS) await add(testFile(f), 'franck', 'other', 'franck-sitting', f.file);
  if (data) {
    for (const c of facesCalib(data)) {
      // NUAA crops name their session; the press photos are each their own event.
      const session = c.identity.startsWith('nuaa') ? `${c.identity}-s${c.name.endsWith('__1') ? 1 : 2}` : c.name;
      await add(join(data, c.path), c.identity, c.group, session, c.name);
    }
    for (const c of heldOutStills(data)) {
      const session = c.identity.startsWith('nuaa') ? `${c.identity}-s1` : c.identity === 'td_ph_f28' ? 'td_ph_f28-sitting' : c.name;
      await add(join(data, c.path), c.identity, c.group, session, c.name);
    }
  } else console.error(NO_SHARED_DATA);
  const apart: Array<{ s: number; g: Group }> = [];
  const sitting: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < faces.length; i++) {
    for (let j = i + 1; j < faces.length; j++) {
      const a = faces[i] as Face;
      const b = faces[j] as Face;
      const s = cosine(a.emb, b.emb);
      if (a.identity !== b.identity || a.identity.startsWith('single:')) impostor.push(s);
      else if (a.session === b.session) sitting.push(s);
      else apart.push({ s, g: a.group });
    }
  }
  const stats = (xs: number[]): { pairs: number; min: number; p5: number; p50: number; max: number } => ({ pairs: xs.length, min: Math.min(...xs), p5: percentile(xs, 5), p50: percentile(xs, 50), max: Math.max(...xs) });
  const below = (xs: number[], t: number): number => xs.filter((x) => x < t).length;
  const apartAll = apart.map((x) => x.s);
  const apartEa = apart.filter((x) => x.g === 'east-asian').map((x) => x.s);
  const r = {
    faces: faces.length,
    outsideQualityGates: faces.filter((f) => f.gated).map((f) => f.name),
    selfieWithSelfie: { ...stats(sitting), threshold: AGREEMENT.selfies, refused: below(sitting, AGREEMENT.selfies) },
    idPhotoWithSelfie: { ...stats(apartAll), threshold: AGREEMENT.idPhoto, refused: below(apartAll, AGREEMENT.idPhoto) },
    idPhotoWithSelfieEastAsian: { ...stats(apartEa), refused: below(apartEa, AGREEMENT.idPhoto) },
    impostor: { ...stats(impostor), acceptedAtIdThreshold: impostor.length - below(impostor, AGREEMENT.idPhoto), acceptedAtSelfieThreshold: impostor.length - below(impostor, AGREEMENT.selfies) },
  };
  return r;
}

/** The measurement as a table for people. */
export function printIdPhotoAgreement(r: IdPhotoAgreement): void {
  const f3 = (x: number): string => x.toFixed(3);
  const line = (label: string, x: { pairs: number; min: number; p5: number; p50: number; max: number }, t: string, n: string): string => `| ${label} | ${x.pairs} | ${f3(x.min)} / ${f3(x.p5)} / ${f3(x.p50)} / ${f3(x.max)} | ${t} | ${n} |`;
  console.log(`${r.faces} faces (outside their quality gates, still scored: ${r.outsideQualityGates.join(', ') || 'none'})`);
  console.log('| pair kind | pairs | min / p5 / p50 / max | threshold | pairs below it |');
  console.log('|---|---|---|---|---|');
  console.log(line('selfie with selfie (one sitting)', r.selfieWithSelfie, String(AGREEMENT.selfies), String(r.selfieWithSelfie.refused)));
  console.log(line('ID photo with selfie (years or sessions apart)', r.idPhotoWithSelfie, String(AGREEMENT.idPhoto), String(r.idPhotoWithSelfie.refused)));
  console.log(line('  of which East Asian', r.idPhotoWithSelfieEastAsian, String(AGREEMENT.idPhoto), String(r.idPhotoWithSelfieEastAsian.refused)));
  console.log(line('impostor (different people)', r.impostor, '-', `${r.impostor.acceptedAtIdThreshold} at or above ${AGREEMENT.idPhoto}`));
}
