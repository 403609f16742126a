/** `npm run eval:id-photo [-- --json]`: the identity-document photo measurement alone (bench/id-photo-agreement.ts; eval:faces prints it too). */
import { FacePipeline } from '../models/pipeline';
import { sharedDataDir } from '../test/fixtures/calib';
import { measureIdPhotoAgreement, printIdPhotoAgreement } from './id-photo-agreement';
import { wantsJson } from './stats';

async function main(): Promise<void> {
  const p = await FacePipeline.load();
  const r = await measureIdPhotoAgreement(p, sharedDataDir());
  await p.close();
  if (wantsJson()) console.log(JSON.stringify(r));
  else printIdPhotoAgreement(r);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
