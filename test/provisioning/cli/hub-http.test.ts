/**
 * `provision hub --http` as it is run: the real entry point in its own process, beside a real mosquitto,
 * serving the API over HTTPS with the certificate `provision init` made. A tenant registers with real
 * photos through the real face pipeline and quality gates (real-name check off, as a trial would run),
 * the building's manager approves, and the running hub publishes the resident to the doors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { BrokerProcess, Community } from '../../../provisioning';
import { ApiClientError, HubClient } from '../../../provisioning/api/client';
import { run } from '../../../provisioning/cli';
import { freeLoopbackPort } from '../../../provisioning/ports';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../../fixtures/photos';
import { waitFor } from '../../harness/wait';
import { unlockCommunity } from '../../../provisioning/at-rest-key';

const PASS = 'hub-http-passphrase';
let dir: string;
let hub: ChildProcess | null = null;
let broker: BrokerProcess | null = null;
let community: Community | null = null;

async function cli(...argv: string[]): Promise<string> {
  const out: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => out.push(l) });
  if (code !== 0) throw new Error(`provision ${argv.join(' ')}: ${out.join('\n')}`);
  return out.join('\n');
}
const oneTime = (out: string): string => /one-time password:? (\S+)/.exec(out)?.[1] ?? '';
const jpeg = (f: string): { contentType: 'image/jpeg'; data: string } => ({ contentType: 'image/jpeg', data: readFileSync(f).toString('base64') });

beforeAll(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'provision-hub-http-')), 'c');
  process.env['PROVISION_PASSPHRASE'] = PASS;
});

afterAll(async () => {
  if (hub && hub.exitCode === null) {
    const done = new Promise((r) => hub?.once('exit', r));
    hub.kill('SIGTERM');
    await done;
  }
  await broker?.stop();
  community?.close();
  delete process.env['PROVISION_PASSPHRASE'];
});

it('serves the API beside the MQTT side: a tenant registers with real photos, the manager approves, and the hub publishes the resident', async () => {
  const mqttPort = await freeLoopbackPort();
  const httpPort = await freeLoopbackPort();
  const adminPassword = oneTime(await cli('init', '--dir', dir, '--broker-url', `mqtts://127.0.0.1:${mqttPort}`, '--admin', 'it-wang'));
  community = Community.open(dir);
  unlockCommunity(community, { passphrase: PASS }, Date.now()); // this test reads the persons' templates as the hub does
  broker = new BrokerProcess(community, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();

  let stderr = '';
  hub = spawn(process.execPath, [join(__dirname, '../../../bin/provision.js'), 'hub', '--dir', dir, '--http', `127.0.0.1:${httpPort}`, '--real-name-check', 'off', '--poll-ms', '100'], {
    env: { ...process.env, DOORWAY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  hub.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(() => stderr.includes('hub API on') || hub?.exitCode !== null, 60_000, 'the hub API to listen');
  expect(stderr).toContain(`hub API on https://127.0.0.1:${httpPort}`);
  // Root on the folder finds the running hub's API where it recorded it, and goes through it.
  await cli('terminal', 'add', '--dir', dir, '--id', 't1', '--door', 'door-1', '--building', 'b-1', '--out', join(dir, '..', 't1'));
  const mgrPassword = oneTime(await cli('operator', 'add', '--dir', dir, '--id', 'mgr-1', '--role', 'manager', '--buildings', 'b-1'));

  const baseUrl = `https://127.0.0.1:${httpPort}`;
  const ca = readFileSync(community.paths.ca.cert);
  const tenant = new HubClient({ baseUrl, ca });
  // A group photo is refused with the photo's place in the request.
  const refused = await tenant.registrations.submit({ name: '王小明', idNumber: '110101199003074512', buildingId: 'b-1', room: '3-101', photos: [jpeg(testFile(GROUP_PHOTOS[0]!))] })
    .then(() => null, (e: unknown) => e);
  expect(refused).toBeInstanceOf(ApiClientError);
  expect((refused as ApiClientError).status).toBe(422);
  expect((refused as ApiClientError).problem?.issues?.[0]?.path).toBe('body.photos.0');

  const reg = await tenant.registrations.submit({ name: '王小明', idNumber: '110101199003074512', buildingId: 'b-1', room: '3-101', photos: [0, 1].map((i) => jpeg(testFile(FRANCK_STILLS[i]!))) });
  const mgr = new HubClient({ baseUrl, ca });
  await mgr.login('mgr-1', mgrPassword);
  await mgr.changePassword(mgrPassword, 'manager li chose this');
  const shown = await mgr.registrations.show(reg.id);
  expect(shown).toMatchObject({ realName: 'unchecked', buildingId: 'b-1', photos: [{ verdict: 'passed' }, { verdict: 'passed' }] });
  await mgr.registrations.approve(reg.id, { until: '2030-12-31' });
  const published = await waitFor(() => {
    const p = community?.db.person(reg.id);
    return p && p.status === 'active' && p.publishedRev >= p.rev ? p : null;
  }, 10_000, 'the hub to publish the approved resident');
  expect(published.templates).toHaveLength(2);

  const admin = new HubClient({ baseUrl, ca });
  await admin.login('it-wang', adminPassword);
  await admin.changePassword(adminPassword, 'it wang chose this one');
  const audit = (await admin.audit({ limit: 50 })).items.filter((a) => a.subject === reg.id).map((a) => `${a.actor} ${a.action}`);
  expect(audit).toEqual(expect.arrayContaining(['tenant registration.submit', 'mgr-1 person.approve', 'mgr-1 registration.approve']));
}, 120_000);
