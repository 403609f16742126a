/**
 * The hub service on an in-memory transport: what the provision commands write to the database is
 * published to the doors it concerns, signed and sealed to each terminal, versions survive a restart, revoked terminals are ignored, sightings become
 * alerts, queued commands are sent while fresh.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { CommandBodySchema, SignedEnvelopeSchema, type RosterBody, type RosterEpoch } from '../../../runtime/protocol/schemas';
import { decodeRoster, rosterKeyOf } from '../../../runtime/protocol/roster-seal';
import { loadPublicKey } from '../../../runtime/protocol/signing';
import { RosterBatchSchema, encodeEmbedding, type RosterBatch, type TemplateIn } from '../../../runtime/roster/batch';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { addPerson, addTerminal, Community, HubDb, startCommunityHub, type CommunityHub, initCommunity, queueCommand, revokePerson, revokeTerminal, type AlertRecord, type Enroller } from '../../../provisioning';
import { waitFor } from '../../harness/wait';
import { admin } from '../../harness/admin';

const PASS = 'service-test-pass';
let root: string;
let c: Community;
let photo: string;

const enroller: Enroller = {
  templates: (photos, idPrefix): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))),
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-service-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, now: Date.now(), actor: 'test-operator' });
  addTerminal(admin(c, { passphrase: PASS }), { id: 't1', doorId: 'door-1', out: join(root, 't1') });
  addTerminal(admin(c, { passphrase: PASS }), { id: 't2', doorId: 'door-2', out: join(root, 't2') });
  photo = join(root, 'p.jpg');
  writeFileSync(photo, 'x');
}, 30_000);

afterAll(() => c.close());

async function startHub(clock: FakeClock, onAlert?: (a: AlertRecord) => void, webhookUrl: string | null = null): Promise<{ svc: CommunityHub; fake: FakeTransport }> {
  const fake = new FakeTransport();
  const p = startCommunityHub({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), webhookUrl, pollMs: 60_000, ...(onAlert ? { onAlert } : {}) });
  // The service unlocks its keys first, then starts the transport and waits for the connection.
  await waitFor(() => fake.started, 10_000, 'the hub service to start its transport', 5);
  fake.connect();
  return { svc: await p, fake };
}

/** The roster bodies published on one terminal's topic, signature checked and opened with that terminal's roster key. */
function bodies(fake: FakeTransport, terminalId: string): Array<{ body: RosterBody; raw: string }> {
  const raw = c.db.rosterKey(terminalId);
  if (!raw) throw new Error(`no roster key for ${terminalId}`);
  const key = rosterKeyOf(raw);
  return fake.published.filter((m) => m.topic === `hub/${terminalId}/roster`).map((m) => ({
    body: decodeRoster(Buffer.from(m.payload), loadPublicKey(c.signingPublicKeyPem()), 4 * 1024 * 1024, terminalId, key),
    raw: m.payload,
  }));
}

function deltas(fake: FakeTransport, terminalId: string): Array<{ version: number; after: number | undefined; batch: RosterBatch; raw: string; epoch: RosterEpoch | undefined }> {
  return bodies(fake, terminalId).flatMap(({ body, raw }) => (body.kind === 'roster.delta' ? [{ version: body.version, after: body.after, batch: RosterBatchSchema.parse(body.batch), raw, epoch: body.epoch }] : []));
}

/** Each terminal asks for its roster as a fresh one does (version 0): the hub answers with a snapshot of its scope. */
function freshTerminals(fake: FakeTransport, ...ids: string[]): void {
  for (const id of ids) fake.deliver(`door/${id}/requests`, JSON.stringify({ v: 1, kind: 'sync', version: 0 }));
}

describe('hub service', () => {
  it('publishes to each door only the persons it may open, sealed to that terminal and without names, and resumes its versions after a restart', async () => {
    const clock = new FakeClock();
    const first = await startHub(clock);
    freshTerminals(first.fake, 't1', 't2');
    await addPerson(admin(c, { enroller }), { id: 'p-1', photos: [photo], doors: ['door-1'], label: 'Wang Fang' });
    await addPerson(admin(c, { enroller }), { id: 'p-2', photos: [photo], doors: ['door-2'], label: 'Li Lei' });
    await first.svc.tick();
    revokePerson(admin(c), { id: 'p-2' });
    await first.svc.tick();
    await first.svc.tick(); // nothing new: nothing published
    expect(first.fake.published.filter((m) => m.topic === 'hub/roster/all')).toEqual([]);
    const t1 = deltas(first.fake, 't1');
    const t2 = deltas(first.fake, 't2');
    const v1 = t1[0]?.version ?? 0;
    // p-1 went to door-1 only, p-2 to door-2 only, and p-2's revocation only where p-2 was.
    expect(t1.map((d) => [d.version, d.batch.upserts.map((u) => u.personId), d.batch.revocations])).toEqual([[v1, ['p-1'], []]]);
    expect(t2.map((d) => [d.version, d.batch.upserts.map((u) => u.personId), d.batch.revocations])).toEqual([[v1, ['p-2'], []], [v1 + 1, [], ['p-2']]]);
    expect(t2[1]?.after).toBe(v1);
    // No name ever leaves the hub, and the broker only ever carries sealed roster bodies.
    for (const m of first.fake.published.filter((x) => x.topic.endsWith('/roster'))) {
      expect(m.payload).not.toContain('Wang Fang');
      expect(m.payload).not.toContain('Li Lei');
      expect(m.payload).not.toContain('p-1');
      expect(JSON.parse((JSON.parse(m.payload) as { body: string }).body)).toMatchObject({ kind: 'roster.sealed' });
    }
    expect(t1[0]?.batch.upserts[0]).not.toHaveProperty('label');
    await first.svc.stop();

    const second = await startHub(clock);
    expect(second.svc.version()).toBe(v1 + 1);
    // t1 at version v1 (of the first run's epoch) catches up to the current version with nothing to change;
    // t2 at v1 gets p-2's removal again, computed from the current state.
    const firstEpoch = t1[0]?.epoch;
    const epoch = { id: firstEpoch?.id, startedAt: firstEpoch?.startedAt };
    second.fake.deliver('door/t1/requests', JSON.stringify({ v: 1, kind: 'sync', version: v1, epoch }));
    second.fake.deliver('door/t2/requests', JSON.stringify({ v: 1, kind: 'sync', version: v1, epoch }));
    expect(deltas(second.fake, 't1').map((d) => [d.version, d.after, d.batch.upserts, d.batch.revocations])).toEqual([[v1 + 1, v1, [], []]]);
    expect(deltas(second.fake, 't2').map((d) => [d.version, d.after, d.batch.upserts, d.batch.revocations])).toEqual([[v1 + 1, v1, [], ['p-2']]]);
    await addPerson(admin(c, { enroller }), { id: 'p-3', photos: [photo], doors: ['door-1'] });
    await second.svc.tick();
    const next = deltas(second.fake, 't1').filter((d) => d.batch.upserts.length > 0);
    expect(next.map((d) => [d.version, d.after, d.batch.upserts.map((u) => u.personId)])).toEqual([[v1 + 2, v1, ['p-3']]]);
    // ...in a new epoch, started by this run, that continues the first run's history.
    expect(next[0]?.epoch?.continues).toEqual({ epoch: firstEpoch?.id, version: v1 + 1 });
    expect(deltas(second.fake, 't2').filter((d) => d.version === v1 + 2)).toEqual([]);
    await second.svc.stop();

    // Two epochs on, a catch-up signed in the current epoch would not follow from the first one: a
    // terminal still there gets a snapshot of its scope.
    const third = await startHub(clock);
    third.fake.deliver('door/t1/requests', JSON.stringify({ v: 1, kind: 'sync', version: v1, epoch }));
    // (snapshot chunks go out from the terminal's queue, after the request handler has returned)
    await waitFor(() => bodies(third.fake, 't1').length > 0, 5000, 'the snapshot sent');
    const sent = bodies(third.fake, 't1').map((b) => b.body);
    expect(sent.map((b) => b.kind)).toEqual(['roster.snapshot']);
    expect(sent[0]?.kind === 'roster.snapshot' ? sent[0].items.map((i) => (i as { personId?: string }).personId).sort() : []).toEqual(['p-1', 'p-3']);
    await third.svc.stop();
  });

  it('cuts a large change into several deltas that stay under the payload limit', async () => {
    const big: Enroller = {
      templates: (_photos, idPrefix): Promise<TemplateIn[]> =>
        Promise.resolve(Array.from({ length: 64 }, (_, i) => ({ templateId: `${idPrefix}-t${i}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(512).fill(0.5)) }))),
    };
    const { svc, fake } = await startHub(new FakeClock());
    try {
      freshTerminals(fake, 't1');
      for (let i = 0; i < 8; i++) await addPerson(admin(c, { enroller: big }), { id: `p-big-${i}`, photos: [photo], doors: ['door-1'] });
      await svc.tick();
      const sizes = fake.published.filter((m) => m.topic === 'hub/t1/roster').map((m) => m.payload.length);
      expect(sizes.length).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThan(2 * 1024 * 1024);
      const ids = deltas(fake, 't1').flatMap((d) => d.batch.upserts.map((u) => u.personId));
      expect(ids.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `p-big-${i}`));
    } finally {
      await svc.stop();
    }
  });

  it('ignores a revoked terminal: its events are not stored, its requests not answered', async () => {
    const { svc, fake } = await startHub(new FakeClock());
    try {
      revokeTerminal(admin(c, { passphrase: PASS }), { id: 't2' });
      await svc.tick();
      const mark = fake.published.length;
      const ev = { v: 1, events: [{ id: ulid(), at: 1, type: 'alarm.tamper', input: 'tamper' }] };
      fake.deliver('door/t2/events', JSON.stringify(ev));
      fake.deliver('door/t2/requests', JSON.stringify({ v: 1, kind: 'sync', version: 0 }));
      expect(fake.published.slice(mark).filter((m) => m.topic.startsWith('hub/t2/'))).toEqual([]);
      fake.deliver('door/t1/events', JSON.stringify(ev));
      expect(fake.on('hub/t1/acks')).toEqual([{ v: 1, ids: [ev.events[0]?.id] }]);
      expect(svc.dropped()).toBe(2);
    } finally {
      await svc.stop();
    }
  });

  it('records heartbeats, raises one alert per sighting, and sends only fresh commands', async () => {
    const clock = new FakeClock();
    const alerts: AlertRecord[] = [];
    const { svc, fake } = await startHub(clock, (a) => alerts.push(a));
    try {
      const health = { uptimeS: 5, rosterVersion: 1, outboxDepth: 2, outboxDropped: 0, rejectedMessages: 0, cameraFps: 24.5, lastDecisionLatencyMs: 300, softwareVersion: '0.1.0', modelVersion: 'm1' };
      fake.deliver('door/t1/status', JSON.stringify({ v: 1, state: 'online', at: clock.now(), health }), true);
      expect(c.db.statuses().find((s) => s.terminalId === 't1')).toMatchObject({ state: 'online', health });

      const sighting = { id: ulid(), at: clock.now(), type: 'alert.sighting', tag: 'missing-person', personId: 'p-1', doorId: 'door-1', score: 0.83 };
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [sighting] }));
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [sighting] })); // redelivered
      expect(alerts).toHaveLength(1);
      expect(c.db.alerts('missing-person')).toEqual([expect.objectContaining({ tag: 'missing-person', doorId: 'door-1', terminalId: 't1', score: 0.83 })]);
      expect(c.db.auditLog().filter((a) => a.action === 'alert.sighting')).toHaveLength(1);

      const [stale] = queueCommand(admin(c, { now: clock.now() - 60_000 }), { target: 'door-1', command: { type: 'unlock', durationMs: 3000 } });
      const [fresh] = queueCommand(admin(c, { now: clock.now(), actor: 'guard-wang' }), { target: 't1', command: { type: 'unlock', durationMs: 3000 } });
      await svc.tick();
      expect(c.db.command(stale ?? -1)?.status).toBe('expired');
      expect(c.db.command(fresh ?? -1)?.status).toBe('sent');
      const sent = fake.published.filter((m) => m.topic === 'hub/t1/commands').map((m) => CommandBodySchema.parse(JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(m.payload)).body)));
      expect(sent).toEqual([expect.objectContaining({ terminalId: 't1', command: { type: 'unlock', durationMs: 3000, requestedBy: 'guard-wang' }, expiresAt: clock.now() + 30_000 })]);
      // The nonce is the command's id on the terminal: the audit joins a release to the operator's command.
      expect(c.db.auditLog().filter((a) => a.action === 'command.sent')).toEqual([
        expect.objectContaining({ actor: 'hub', subject: 't1', detail: { id: fresh, type: 'unlock', commandId: sent[0]?.nonce, requestedBy: 'guard-wang' } }),
      ]);
    } finally {
      await svc.stop();
    }
  });

  it('goes on with every other part when one listener throws: the alert is stored, the wipe audited, both events acknowledged', async () => {
    const clock = new FakeClock();
    const { svc, fake } = await startHub(clock, () => {
      throw new Error('a broken alert listener');
    });
    try {
      const sighting = { id: ulid(), at: clock.now(), type: 'alert.sighting', tag: 'lost-child', personId: 'p-1', doorId: 'door-1', score: 0.8 };
      const wiped = { id: ulid(), at: clock.now(), type: 'terminal.wiped', outcome: 'erased', persons: 2, templates: 4 };
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [sighting, wiped] }));
      expect(c.db.alerts('lost-child')).toHaveLength(1);
      expect(c.db.auditLog().filter((a) => a.action === 'terminal.wiped' && a.detail['at'] === wiped.at)).toHaveLength(1);
      expect(fake.on('hub/t1/acks')).toEqual([{ v: 1, ids: [sighting.id, wiped.id] }]);
      expect(svc.rejected()).toBe(0);
    } finally {
      await svc.stop();
    }
  });

  it('tells the operator\'s webhook of each terminal wipe, failed or not, once per event and with counts only, and audits it', async () => {
    const { posted, server, url } = await webhookReceiver();
    const clock = new FakeClock();
    const { svc, fake } = await startHub(clock, undefined, url);
    const auditedBefore = c.db.auditLog().filter((a) => a.action === 'terminal.wiped').length;
    try {
      const failed = { id: ulid(), at: clock.now(), type: 'terminal.wiped', outcome: 'failed', persons: 0, templates: 0 };
      const erased = { id: ulid(), at: clock.now(), type: 'terminal.wiped', outcome: 'erased', persons: 40, templates: 80 };
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [failed] }));
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [failed] })); // redelivered
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [erased] }));
      expect(c.db.auditLog().filter((a) => a.action === 'terminal.wiped')).toHaveLength(auditedBefore + 2);
    } finally {
      await svc.stop(); // waits for the webhook posts
      await new Promise((r) => server.close(r));
    }
    expect(posted).toHaveLength(2);
    const byOutcome = new Map(posted.map((p) => [p.outcome, p]));
    expect(byOutcome.get('failed')).toMatchObject({ kind: 'terminal.wiped', terminalId: 't1', outcome: 'failed', persons: 0, templates: 0 });
    expect(byOutcome.get('erased')).toMatchObject({ kind: 'terminal.wiped', terminalId: 't1', outcome: 'erased', persons: 40, templates: 80 });
    // No personal data: only these fields.
    for (const p of posted) expect(Object.keys(p).sort()).toEqual(['at', 'eventId', 'kind', 'outcome', 'persons', 'receivedAt', 'templates', 'terminalId']);
  });

  it('audits a duress PIN and tells the webhook once per event (a redelivery is neither audited nor posted again)', async () => {
    const { posted, server, url } = await webhookReceiver();
    const clock = new FakeClock();
    const { svc, fake } = await startHub(clock, undefined, url);
    const auditedBefore = c.db.auditLog().filter((a) => a.action === 'alarm.duress').length;
    const duress = { id: ulid(), at: clock.now(), type: 'alarm.duress', personId: 'p-1', doorId: 'door-1', credential: 'pin' };
    try {
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [duress] }));
      fake.deliver('door/t1/events', JSON.stringify({ v: 1, events: [duress] })); // redelivered
      const audited = c.db.auditLog().filter((a) => a.action === 'alarm.duress');
      expect(audited).toHaveLength(auditedBefore + 1);
      expect(audited.find((a) => a.detail['at'] === duress.at)).toMatchObject({ actor: 'hub', subject: 'p-1', detail: { doorId: 'door-1', terminalId: 't1', credential: 'pin' } });
    } finally {
      await svc.stop(); // waits for the webhook posts
      await new Promise((r) => server.close(r));
    }
    expect(posted).toEqual([expect.objectContaining({ kind: 'alarm.duress', eventId: duress.id, terminalId: 't1', doorId: 'door-1', personId: 'p-1' })]);
  });

  it('queries the database on its timer only when something in it changed (here or in another process), and every 5 s regardless', async () => {
    const clock = new FakeClock();
    const fake = new FakeTransport();
    const p = startCommunityHub({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), pollMs: 250 });
    await waitFor(() => fake.started, 10_000, 'the hub service to start its transport', 5);
    fake.connect();
    const svc = await p;
    const other = new HubDb(c.db.path); // another connection to hub.db, as `provision` in another process has
    const reads = jest.spyOn(c.db, 'queuedCommands');
    const polls = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        clock.advance(250);
        for (let j = 0; j < 5; j++) await new Promise<void>((r) => setImmediate(r));
      }
    };
    try {
      await polls(4); // what the start wrote is taken in
      reads.mockClear();
      await polls(8); // 2 s, nothing changed: no query
      expect(reads).not.toHaveBeenCalled();

      const id = other.queueCommand('t1', { type: 'unlock', durationMs: 3000, requestedBy: 'guard-wang' }, 'guard-wang', clock.now());
      await polls(1); // the next poll sees the other connection's commit
      expect(c.db.command(id)?.status).toBe('sent');
      expect(fake.published.filter((m) => m.topic === 'hub/t1/commands')).toHaveLength(1);

      await polls(2);
      reads.mockClear();
      await polls(20); // 5 s of nothing: the parts run once anyway (a command may expire, a file change)
      expect(reads.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      reads.mockRestore();
      other.close();
      await svc.stop();
    }
  });
});

/** A real HTTP server standing in for the operator's webhook: every JSON body it is posted, answered 204. */
async function webhookReceiver(): Promise<{ posted: Record<string, unknown>[]; server: Server; url: string }> {
  const posted: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posted.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { posted, server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook` };
}
