/**
 * The live feed (`GET /api/live`, Server-Sent Events) over real HTTPS on the API site of the other API
 * tests: what each role receives of registrations and alarms, and what becomes of an open stream when
 * its operator is disabled or its token revoked. The feed polls on the site's FakeClock.
 */
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import { ulid } from 'ulid';
import { HubClient } from '../../../provisioning/api/client';
import { EventStore } from '../../../provisioning/hub/event-store';
import { IDENTITIES, NEW_PASSWORD, registrationBody, startApiSite, type ApiSite, type Who } from '../../harness/hub-api';
import { waitFor } from '../../harness/wait';

let site: ApiSite;

beforeAll(async () => {
  site = await startApiSite();
}, 60_000);

afterAll(async () => {
  await site.stop();
});

interface Stream {
  text(): string;
  ended(): boolean;
  close(): void;
}

/** Opens /api/live with these headers; resolves once the stream's first line has arrived. */
function openStream(headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let ended = false;
    const req: ClientRequest = request(new URL('/api/live', site.baseUrl), { ca: site.ca, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`live: ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        if (buf.startsWith(': doorway live')) resolve({ text: () => buf, ended: () => ended, close: () => req.destroy() });
      });
      res.on('end', () => (ended = true));
      res.on('close', () => (ended = true));
    });
    req.on('error', () => (ended = true));
    req.end();
  });
}

async function sessionStream(who: Who): Promise<Stream> {
  const c = await site.client(who);
  const cred = (c as unknown as { credential: { cookie: string } }).credential;
  return openStream({ cookie: cred.cookie });
}

function ingest(terminalId: string, events: unknown[]): void {
  const store = new EventStore(site.community.paths.eventsDb);
  try {
    store.ingest(terminalId, Buffer.from(JSON.stringify({ v: 1, events })), site.clock.now());
  } finally {
    store.close();
  }
}

describe('the live feed', () => {
  it("announces a new registration by id and building only, to its building's manager, admins and auditors and to nobody else", async () => {
    const streams = await Promise.all((['mgr-1', 'mgr-2', 'sec', 'admin', 'aud'] as const).map(sessionStream));
    const [mgr1, mgr2, sec, admin, aud] = streams;
    try {
      const reg = await site.anonymous().registrations.submit(registrationBody('b-1', 1));
      site.clock.advance(250); // the feed's poll
      for (const s of [mgr1, admin, aud]) await waitFor(() => s?.text().includes(reg.id), 5000, 'the registration announced');
      const who = IDENTITIES[1];
      for (const s of [mgr1, admin, aud]) {
        expect(s?.text()).toContain('event: registration');
        expect(s?.text()).toContain('"buildingId":"b-1"');
        expect(s?.text()).not.toContain(who?.name);
        expect(s?.text()).not.toContain(who?.idNumber.slice(0, 4));
        expect(s?.text()).not.toContain(who?.idNumber.slice(-4));
        expect(s?.text()).not.toContain('3-101'); // the room
      }
      // Announced to the three above at the same poll: the manager of b-2 and the security office had it filtered out.
      expect(mgr2?.text()).not.toContain('event: registration');
      expect(sec?.text()).not.toContain('event: registration');
    } finally {
      for (const s of streams) s?.close();
    }
  });

  it("sends a duress alarm, which names the person, to the security office and not to the door's manager, who gets the door's other alarms", async () => {
    const streams = await Promise.all((['mgr-1', 'sec'] as const).map(sessionStream));
    const [mgr1, sec] = streams;
    try {
      ingest('t1', [
        { id: ulid(site.clock.now()), at: site.clock.now(), type: 'alarm.duress', personId: 'p-under-duress', doorId: 'door-1', credential: 'pin' },
        { id: ulid(site.clock.now() + 1), at: site.clock.now() + 1, type: 'alarm.forced-open' },
      ]);
      site.clock.advance(250);
      await waitFor(() => sec?.text().includes('alarm.duress'), 5000, 'the duress alarm at the security office');
      await waitFor(() => mgr1?.text().includes('alarm.forced-open'), 5000, "the forced door at b-1's manager");
      expect(sec?.text()).toContain('alarm.forced-open');
      expect(mgr1?.text()).not.toContain('alarm.duress');
      expect(mgr1?.text()).not.toContain('p-under-duress');
    } finally {
      for (const s of streams) s?.close();
    }
  });

  it('closes the open stream of an operator who is disabled and of an API token that is revoked, at the next keep-alive', async () => {
    const root = site.root();
    const { password } = await root.operators.add({ id: 'mgr-9', role: 'manager', buildings: ['b-1'] });
    const m9 = new HubClient({ baseUrl: site.baseUrl, ca: site.ca });
    await m9.login('mgr-9', password);
    await m9.changePassword(password, NEW_PASSWORD);
    const m9cookie = (m9 as unknown as { credential: { cookie: string } }).credential.cookie;
    const sec = await site.client('sec');
    const { token, info } = await sec.createMyToken('wall display');
    const disabled = await openStream({ cookie: m9cookie });
    const revoked = await openStream({ authorization: `Bearer ${token}` });
    const kept = await sessionStream('admin');
    try {
      await root.operators.disable('mgr-9');
      await sec.revokeMyToken(info.id);
      site.clock.advance(15_000); // the keep-alive looks at each caller again
      await waitFor(() => disabled.ended() && revoked.ended(), 5000, 'both streams closed');
      await waitFor(() => kept.text().includes(': keepalive'), 5000, "the admin's stream kept alive at the same tick");
      expect(kept.ended()).toBe(false);
    } finally {
      for (const s of [disabled, revoked, kept]) s.close();
    }
  });

  it('stops sending to a stream at once when its operator is disabled, before any keep-alive', async () => {
    const root = site.root();
    const { password } = await root.operators.add({ id: 'aud-9', role: 'auditor' });
    const a9 = new HubClient({ baseUrl: site.baseUrl, ca: site.ca });
    await a9.login('aud-9', password);
    await a9.changePassword(password, NEW_PASSWORD);
    const stream = await openStream({ cookie: (a9 as unknown as { credential: { cookie: string } }).credential.cookie });
    const control = await sessionStream('aud');
    try {
      await root.operators.disable('aud-9');
      site.clock.advance(1000); // past the once-a-second look at the caller, short of a keep-alive
      const reg = await site.anonymous().registrations.submit(registrationBody('b-2', 2));
      site.clock.advance(250);
      await waitFor(() => control.text().includes(reg.id), 5000, "the registration on the other auditor's stream");
      expect(stream.text()).not.toContain(reg.id);
      await waitFor(() => stream.ended(), 5000, "the disabled auditor's stream closed");
    } finally {
      stream.close();
      control.close();
    }
  });
});
