/**
 * Enrolment from the identity document's photo with the app's selfies (issue 17 item 4), on real
 * photos through the real face pipeline and a real hub.db: the real-name check gives the document's
 * photo; at approval the person is enrolled from it when it agrees with every selfie (and the selfies
 * with each other), and the approval is refused naming the pairs, with nothing stored, when it does not.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { FacePipeline } from '../../../models/pipeline';
import { pipelineEnroller, type Enroller } from '../../../provisioning/admin/enrol';
import { disagreements, EnrolmentDisagreementError, idPhotoFile, idPhotoTemplate } from '../../../provisioning/api/id-photo';
import { ApiProblem } from '../../../provisioning/api/problem';
import { FakeRealNameCheck } from '../../../provisioning/api/realname';
import { approveRegistration, rejectRegistration, submitRegistration } from '../../../provisioning/api/registrations';
import type { PortContext } from '../../../provisioning/api/admin-port';
import { initCommunity, type Community } from '../../../provisioning/community';
import { AGREEMENT } from '../../../runtime/tools/enrol';
import { cutOutFace } from '../../fixtures/cut-out';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../../fixtures/photos';

const franck = (name: string): string => testFile(FRANCK_STILLS.find((f) => f.file === `franck_${name}.jpg`)!);
const photo = (file: string): { contentType: 'image/jpeg'; data: string } => ({ contentType: 'image/jpeg', data: readFileSync(file).toString('base64') });
const WANG = { name: '王小明', idNumber: '110101199003074512' };
const LI = { name: '李红', idNumber: '110101198805061234' };

describe('enrolment from the identity document photo with app selfies', () => {
  let dir: string;
  let c: Community;
  let pipeline: FacePipeline;
  let enroller: Enroller;
  let realName: FakeRealNameCheck;
  const port = (actor: string): PortContext => ({ community: c, clock: new SystemClock(), now: Date.now(), actor });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'doorway-id-photo-'));
    c = initCommunity({ dir: join(dir, 'c'), passphrase: 'id-photo-test', actor: 'root', now: Date.now() });
    c.db.addTerminal({ id: 't1', doorId: 'door-1', buildingId: 'b-1', serial: '01', createdAt: Date.now() });
    pipeline = await FacePipeline.load();
    enroller = pipelineEnroller(pipeline);
    // Wang's document shows franck (another photo of him); Li's shows a woman from a group photo.
    const stranger = await cutOutFace(pipeline, testFile(GROUP_PHOTOS.find((g) => g.file === 'sample3.jpg')!), true, join(dir, 'stranger.jpg'));
    realName = new FakeRealNameCheck([{ ...WANG, photo: franck('01829') }, { ...LI, photo: stranger }]);
  }, 60_000);

  afterAll(async () => {
    await pipeline.close();
    c.close();
  });

  const register = (who: { name: string; idNumber: string }, selfies: string[]): ReturnType<typeof submitRegistration> =>
    submitRegistration(port('tenant'), realName, enroller, { ...who, buildingId: 'b-1', room: '3-101', photos: selfies.map(photo) });

  it('enrols the person from the document photo and the selfies when every pair agrees, the document photo as an enrolled template', async () => {
    const r = await register(WANG, [franck('02045'), franck('02159')]);
    const pending = c.db.person(r.personId);
    expect(pending?.templates).toHaveLength(2);
    expect(idPhotoFile(c, pending?.photoKey ?? '')).not.toBeNull();
    const approved = await approveRegistration(port('mgr-1'), r.id, {}, enroller);
    expect(approved.status).toBe('approved');
    const p = c.db.person(r.personId);
    expect(p?.status).toBe('active');
    expect(p?.templates.map((t) => t.templateId)).toEqual([`${r.personId}-id-t1`, ...(pending?.templates.map((t) => t.templateId) ?? [])]);
    expect(p?.templates.every((t) => t.adapted === undefined)).toBe(true);
    expect(c.db.auditLog().some((a) => a.action === 'person.enrol-id-photo' && a.subject === r.personId)).toBe(true);
  });

  it('refuses the approval naming the pairs that disagree, and stores nothing, when the document photo shows someone else', async () => {
    const r = await register(LI, [franck('02221'), franck('02683')]);
    const before = c.db.person(r.personId);
    let err: unknown;
    try {
      await approveRegistration(port('mgr-1'), r.id, {}, enroller);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiProblem);
    const problem = err as ApiProblem;
    expect(problem.status).toBe(422);
    expect(problem.message).toMatch(/ID photo and selfie 1 .*ID photo and selfie 2/);
    const after = c.db.person(r.personId);
    expect(after?.status).toBe('pending');
    expect(after?.templates).toEqual(before?.templates);
    expect(after?.rev).toBe(before?.rev);
    expect(c.db.auditLog().some((a) => a.action === 'registration.approve' && a.subject === r.id)).toBe(false);
    // The typed error underneath names each pair with its kind, score and threshold.
    const p = c.db.person(r.personId);
    if (!p) throw new Error('no person');
    await expect(idPhotoTemplate(enroller, idPhotoFile(c, p.photoKey) ?? '', p)).rejects.toMatchObject({
      pairs: [
        { a: 'ID photo', b: 'selfie 1', kind: 'id-photo-with-selfie', threshold: AGREEMENT.idPhoto },
        { a: 'ID photo', b: 'selfie 2', kind: 'id-photo-with-selfie', threshold: AGREEMENT.idPhoto },
      ],
    });
  });

  it('deletes the document photo with the person when the registration is rejected', async () => {
    const r = await register(WANG, [franck('02888')]);
    const key = c.db.person(r.personId)?.photoKey ?? '';
    const file = idPhotoFile(c, key);
    expect(file !== null && existsSync(file)).toBe(true);
    rejectRegistration(port('mgr-1'), r.id, 'not a tenant here');
    expect(idPhotoFile(c, key)).toBeNull();
  });

  it('judges selfie pairs at the selfie threshold and document pairs at the lower document threshold', () => {
    const unit = (cos: number): Float32Array => Float32Array.from([cos, Math.sqrt(1 - cos * cos)]);
    const base = Float32Array.from([1, 0]);
    // 0.45 is enough between the document and a selfie, not between two selfies
    expect(disagreements(unit(0.45), [base])).toEqual([]);
    expect(disagreements(null, [base, unit(0.45)]).map((d) => d.kind)).toEqual(['selfie-with-selfie']);
    expect(disagreements(unit(0.35), [base]).map((d) => `${d.a}/${d.b}`)).toEqual(['ID photo/selfie 1']);
    expect(new EnrolmentDisagreementError(disagreements(unit(0.35), [base])).message).toMatch(/ID photo and selfie 1 \(0\.350 < 0\.4\)/);
  });
});
