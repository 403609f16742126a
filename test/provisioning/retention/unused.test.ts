/**
 * "Registered but long unused" (issue 16 item 5) through the hub's real HTTPS API and the command line:
 * active residents not let in at any door for N days, from events.db's granted entries; a manager sees
 * their buildings' residents only and confirms one (hidden for N more days), an admin sees all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addPerson } from '../../../provisioning';
import { ApiClientError } from '../../../provisioning/api/client';
import { EventStore } from '../../../provisioning/hub/event-store';
import { DAY_MS } from '../../../provisioning/retention/config';
import { admin } from '../../harness/admin';
import { inProcess } from '../../harness/cli-hub';
import { startApiSite, testEnroller, type ApiSite } from '../../harness/hub-api';
import { entryEvent } from '../../harness/sync-site';

let site: ApiSite;

beforeAll(async () => {
  site = await startApiSite();
  const c = site.community;
  const as = admin(c, { clock: site.clock, enroller: testEnroller });
  writeFileSync(join(site.dir, 'face.jpg'), 'jpeg bytes');
  const photos = [join(site.dir, 'face.jpg')];
  for (const [id, building] of [['p-quiet-1', 'b-1'], ['p-seen-1', 'b-1'], ['p-quiet-2', 'b-2']] as const) await addPerson(as, { id, photos, buildings: [building] });
  site.clock.advance(100 * DAY_MS);
  await addPerson(as, { id: 'p-new-1', photos, buildings: ['b-1'] });
  const events = new EventStore(c.paths.eventsDb);
  const now = site.clock.now();
  events.ingest('t1', Buffer.from(JSON.stringify({ v: 1, events: [entryEvent(now - 95 * DAY_MS, 'p-quiet-1'), entryEvent(now - 10 * DAY_MS, 'p-seen-1')] })), now);
  events.close();
}, 60_000);

afterAll(() => site.stop());

const ids = (r: { items: Array<{ personId: string }> }): string[] => r.items.map((p) => p.personId).sort();

test('a manager sees the residents of their buildings not let in for 90 days, an admin sees every building', async () => {
  const mgr = await site.client('mgr-1');
  const r = await mgr.residents.unused();
  expect(r.days).toBe(90);
  expect(ids(r)).toEqual(['p-quiet-1']); // not p-seen-1 (10 days ago), not p-new-1 (added today), not b-2's
  // Its entry 95 days ago is past the 90 days entry events are kept: the hub does not know it any more.
  expect(r.items[0]).toMatchObject({ buildings: ['b-1'], lastSeenAt: null, confirmedAt: null });
  expect(ids(await (await site.client('admin')).residents.unused())).toEqual(['p-quiet-1', 'p-quiet-2']);
  expect(ids(await (await site.client('admin')).residents.unused({ building: 'b-2' }))).toEqual(['p-quiet-2']);
  const five = await (await site.client('mgr-1')).residents.unused({ days: 5 });
  expect(ids(five)).toEqual(['p-quiet-1', 'p-seen-1']);
  expect(five.items.find((p) => p.personId === 'p-seen-1')?.lastSeenAt).toBe(site.clock.now() - 10 * DAY_MS);
});

test('more days than entry events are kept is bad input, and a manager may not confirm another building\'s resident', async () => {
  const mgr = await site.client('mgr-1');
  await expect(mgr.residents.unused({ days: 91 })).rejects.toMatchObject({ status: 400 });
  await expect(mgr.residents.confirm('p-quiet-2')).rejects.toBeInstanceOf(ApiClientError);
  await expect(mgr.residents.confirm('p-quiet-2')).rejects.toMatchObject({ status: 403 });
  await expect((await site.client('aud')).residents.confirm('p-quiet-1')).rejects.toMatchObject({ status: 403 });
  expect(site.community.db.auditLog(50).filter((a) => a.action === 'person.confirm-resident')).toEqual([]);
});

test('a confirmation hides the resident for N more days and is audited; then the report lists them again', async () => {
  const mgr = await site.client('mgr-1');
  const at = site.clock.now();
  expect(await mgr.residents.confirm('p-quiet-1')).toEqual({ personId: 'p-quiet-1', confirmedAt: at });
  expect(ids(await mgr.residents.unused())).toEqual([]);
  expect(site.community.db.auditLog(50).find((a) => a.action === 'person.confirm-resident')).toMatchObject({ actor: 'mgr-1', subject: 'p-quiet-1' });
  site.clock.advance(90 * DAY_MS + 1);
  const later = await (await site.client('mgr-1')).residents.unused();
  expect(ids(later)).toEqual(['p-new-1', 'p-quiet-1', 'p-seen-1']);
  expect(later.items.find((p) => p.personId === 'p-quiet-1')).toMatchObject({ confirmedAt: at, lastSeenAt: null });
});

test('provision person unused lists them for the manager and person confirm records the answer', async () => {
  const cfg = join(site.dir, 'xdg-empty');
  mkdirSync(cfg, { recursive: true });
  const caFile = join(site.dir, 'ca-for-cli.pem');
  writeFileSync(caFile, site.ca);
  const env = { PROVISION_HUB: site.baseUrl, PROVISION_CA: caFile, PROVISION_TOKEN: site.token('mgr-2') };
  const listed = await inProcess(env, ['person', 'unused', '--days', '30'], cfg);
  expect(listed).toMatchObject({ code: 0 });
  expect(listed.out).toMatch(/^p-quiet-2\t-\tb-2\tlast seen never/m);
  expect(listed.out).toMatch(/1 resident\(s\) not seen at any door for 30 days/);
  expect(await inProcess(env, ['person', 'confirm', 'p-quiet-2'], cfg)).toMatchObject({ code: 0 });
  expect((await inProcess(env, ['person', 'unused', '--json'], cfg)).out).toContain('"items": []');
  expect(await inProcess(env, ['person', 'unused', '--days', 'soon'], cfg)).toMatchObject({ code: 2 });
});
