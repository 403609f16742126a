/**
 * The command line's photos on their way to the hub: a refusal the hub names by the photo's place in
 * the request (`body.photos.N`, provisioning/api/photos.ts) is said with the local file's name.
 */
import { HubRefusedError } from './connect';

export class PhotoRefusedError extends HubRefusedError {}

export async function localPhotoRefusal<T>(files: readonly string[], call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (!(e instanceof HubRefusedError)) throw e;
    const issue = e.problem?.issues?.find((i) => /^body\.photos\.\d+$/.test(i.path));
    const file = issue ? files[Number(issue.path.split('.')[2])] : undefined;
    if (!issue || file === undefined) throw e;
    throw new PhotoRefusedError(e.status, e.problem, `${file}: ${issue.message}`);
  }
}
