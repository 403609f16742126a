/**
 * A community with the hub's API served over real TLS (certificate from its real CA) on a loopback
 * port, with real argon2, a FakeClock for the API's durations, two buildings (b-1: door-1 on t1, b-2:
 * door-2 on t2) and one operator of each kind, logged in once to replace their one-time passwords.
 * Tests use `client(who)` (real HTTPS) or `api.app.inject` (the route table's breadth).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { addTerminal, initCommunity, type Community } from '../../provisioning';
import { HubClient } from '../../provisioning/api/client';
import { FakeRealNameCheck } from '../../provisioning/api/realname';
import { HubApi } from '../../provisioning/api/server';
import { httpTls, renewHttpTlsIfDue } from '../../provisioning/api/tls';
import type { AuthConfig } from '../../provisioning/operators/config';
import { ensureRootKey } from '../../provisioning/operators/root';
import type { Enroller } from '../../provisioning/admin/enrol';
import { admin } from './admin';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';

export const PASS = 'hub-api-test-pass';

/** Templates without the face models (the photos' bytes are not looked at); the pipeline's own tests cover enrolment. */
export const testEnroller: Enroller = {
  templates: (photos, idPrefix): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))),
};

export const IDENTITIES = [
  { name: '王小明', idNumber: '110101199003074512' },
  { name: '李红', idNumber: '110101198805061234' },
  // The fake identity service has the document's photo of this one (the console shows it beside the registration photos).
  { name: '张伟', idNumber: '440301199512120011', photo: { contentType: 'image/jpeg' as const, data: Buffer.from('identity portrait of 张伟') } },
];

export const OPERATORS = {
  admin: { role: 'admin', buildings: [] },
  sec: { role: 'security', buildings: [] },
  'mgr-1': { role: 'manager', buildings: ['b-1'] },
  'mgr-2': { role: 'manager', buildings: ['b-2'] },
  aud: { role: 'auditor', buildings: [] },
} as const;
export type Who = keyof typeof OPERATORS;

export const NEW_PASSWORD = 'correct horse battery staple';

export interface ApiSite {
  dir: string;
  community: Community;
  clock: FakeClock;
  api: HubApi;
  baseUrl: string;
  ca: string;
  realName: FakeRealNameCheck;
  /** A logged-in HTTPS client of that operator (a new session each call). */
  client(who: Who): Promise<HubClient>;
  anonymous(): HubClient;
  root(): HubClient;
  /** An API token of that operator (for inject). */
  token(who: Who): string;
  stop(): Promise<void>;
}

export async function startApiSite(auth: Partial<AuthConfig> = {}): Promise<ApiSite> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-api-'));
  const clock = new FakeClock(Date.now());
  const community = initCommunity({ dir: join(dir, 'c'), passphrase: PASS, actor: 'root', now: clock.now() });
  const asRoot = admin(community, { actor: 'root', clock, passphrase: PASS });
  addTerminal(asRoot, { id: 't1', doorId: 'door-1', buildingId: 'b-1', out: join(dir, 't1') });
  addTerminal(asRoot, { id: 't2', doorId: 'door-2', buildingId: 'b-2', out: join(dir, 't2') });
  const rootKey = ensureRootKey(community, PASS);
  const realName = new FakeRealNameCheck(IDENTITIES);
  const api = await HubApi.create({ community, clock, log: silentLogger(), tls: httpTls(community, PASS, clock.now()), renewTls: (now) => renewHttpTlsIfDue(community, PASS, now), realName, enroller: testEnroller, passphrase: PASS, auth });
  const { port } = await api.listen('127.0.0.1', 0);
  const baseUrl = `https://127.0.0.1:${port}`;
  const ca = readFileSync(community.paths.ca.cert, 'utf8');
  const tokens = new Map<Who, string>();
  const rootClient = (): HubClient => new HubClient({ baseUrl, ca, credential: { kind: 'root', key: rootKey, now: () => clock.now() } });
  const r = rootClient();
  for (const [id, o] of Object.entries(OPERATORS) as Array<[Who, (typeof OPERATORS)[Who]]>) {
    const { password } = await r.operators.add({ id, role: o.role, buildings: [...o.buildings] });
    const c = new HubClient({ baseUrl, ca });
    await c.login(id, password);
    await c.changePassword(password, NEW_PASSWORD);
    tokens.set(id, (await c.createMyToken('tests')).token);
  }
  return {
    dir,
    community,
    clock,
    api,
    baseUrl,
    ca,
    realName,
    async client(who) {
      const c = new HubClient({ baseUrl, ca });
      await c.login(who, NEW_PASSWORD);
      return c;
    },
    anonymous: () => new HubClient({ baseUrl, ca }),
    root: rootClient,
    token: (who) => tokens.get(who) ?? '',
    async stop() {
      await api.close();
      community.close();
    },
  };
}

/** A registration body for building `buildingId` (the identity must be one the fake check knows). */
export function registrationBody(buildingId: string, who = 0): { name: string; idNumber: string; buildingId: string; room: string; photos: Array<{ contentType: 'image/jpeg'; data: string }> } {
  const id = IDENTITIES[who] ?? IDENTITIES[0]!;
  return { name: id.name, idNumber: id.idNumber, buildingId, room: '3-101', photos: [{ contentType: 'image/jpeg', data: Buffer.from(`photo of ${id.name}`).toString('base64') }] };
}
