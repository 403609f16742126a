/** Alerts and sightings, events (paged, filtered), the audit log (paged, CSV export). */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { alerts, audit, events, type StoredEvent } from '../admin-port';
import { PHOTOS_BODY_LIMIT, PhotoInSchema, withPhotoFiles } from '../photos';
import type { ApiApp, ApiContext } from '../server';

/** Rows of events.db scanned per events page at most (a filter that matches little returns a cursor to go on from). */
const EVENT_SCAN = 5000;

function csvField(v: string): string {
  // Quote always; a leading =, +, - or @ would be a formula in a spreadsheet: prefix it with '.
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${safe.replace(/"/g, '""')}"`;
}

export function recordRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/alerts', {
    config: { permission: 'alerts.read' },
    schema: {
      summary: 'Active alert subjects and their sightings (door, time, score)',
      querystring: z.strictObject({ tag: IdSchema.optional() }),
      response: {
        200: z.strictObject({
          active: z.array(z.strictObject({ personId: z.string(), kind: z.string(), tags: z.array(z.string()), note: z.string().nullable() })),
          sightings: z.array(z.strictObject({ id: z.number(), tag: z.string(), personId: z.string(), doorId: z.string(), terminalId: z.string(), score: z.number(), at: z.number(), webhook: z.string() })),
        }),
      },
    },
  }, (req) => {
    const r = alerts.list(ctx.port(req), req.query.tag);
    return {
      active: r.active.map((p) => ({ personId: p.personId, kind: p.kind, tags: p.tags, note: p.note })),
      sightings: r.sightings.map((s) => ({ id: s.id, tag: s.tag, personId: s.personId, doorId: s.doorId, terminalId: s.terminalId, score: s.score, at: s.at, webhook: s.webhook })),
    };
  });

  app.post('/api/alerts', {
    bodyLimit: PHOTOS_BODY_LIMIT,
    config: { permission: 'alerts.write' },
    schema: {
      summary: 'Tag an enrolled person (personId) or enrol a new alert subject from photos (base64): published to every door, a sighting becomes an alert',
      body: z.strictObject({ tag: IdSchema, personId: IdSchema.optional(), photos: z.array(PhotoInSchema).min(1).max(10).optional(), note: z.string().max(500).optional() }),
      response: { 201: z.strictObject({ personId: z.string(), tags: z.array(z.string()) }) },
    },
  }, async (req, reply) => {
    const b = req.body;
    const port = ctx.port(req);
    const input = { tag: b.tag, ...(b.personId ? { personId: b.personId } : {}), ...(b.note ? { note: b.note } : {}) };
    const p = b.photos ? await withPhotoFiles(b.photos, (photos) => alerts.add(port, ctx.enroller, { ...input, photos })) : await alerts.add(port, ctx.enroller, input);
    return reply.code(201).send({ personId: p.personId, tags: p.tags });
  });

  app.post('/api/alerts/:tag/clear', {
    config: { permission: 'alerts.write' },
    schema: {
      summary: 'Clear a tag everywhere: residents untagged, alert subjects revoked (photos and templates deleted)',
      params: z.strictObject({ tag: IdSchema }),
      response: { 200: z.strictObject({ untagged: z.array(z.string()), revoked: z.array(z.string()) }) },
    },
  }, (req) => alerts.clear(ctx.port(req), req.params.tag));

  app.get('/api/events', {
    config: { permission: 'events.read' },
    schema: {
      summary: 'Events from the doors, oldest first after the cursor `after` (or from the last `last` events); `next` continues',
      querystring: z.strictObject({
        after: z.coerce.number().int().min(0).default(0),
        last: z.coerce.number().int().min(0).max(100_000).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
        type: z.string().regex(/^[a-z.-]{1,40}$/).optional(),
        terminal: IdSchema.optional(),
        door: IdSchema.optional(),
      }),
    },
  }, (req) => {
    const q = req.query;
    const port = ctx.port(req);
    const doorOf = new Map(ctx.community.db.terminals().map((t) => [t.id, t.doorId]));
    const items: Array<StoredEvent & { doorId: string | null }> = [];
    let cursor = q.last !== undefined ? events.tailStart(port, q.last) : q.after;
    let scanned = 0;
    while (items.length < q.limit && scanned < EVENT_SCAN) {
      const r = events.read(port, cursor, Math.min(500, EVENT_SCAN - scanned));
      if (r.events.length === 0) break;
      scanned += r.events.length;
      // One rowid per event: stop at the one that fills the page, so `next` neither skips nor repeats.
      let i = 0;
      for (const e of r.events) {
        i += 1;
        const doorId = doorOf.get(e.terminalId) ?? null;
        if ((!q.type || e.event.type === q.type) && (!q.terminal || e.terminalId === q.terminal) && (!q.door || doorId === q.door)) items.push({ ...e, doorId });
        if (items.length >= q.limit) break;
      }
      cursor = i === r.events.length ? r.last : cursor + i; // rowids of events.db are dense (INSERT only)
    }
    return { items, next: cursor };
  });

  const AuditQuery = z.strictObject({
    before: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    actor: IdSchema.optional(),
    action: z.string().regex(/^[a-z.-]{1,60}$/).optional(),
    subject: z.string().max(100).optional(),
    from: z.coerce.number().int().optional(),
    to: z.coerce.number().int().optional(),
  });

  app.get('/api/audit', {
    config: { permission: 'audit.read' },
    schema: { summary: 'Who did what, newest first; `before` pages back', querystring: AuditQuery },
  }, (req) => {
    const rows = audit.query(ctx.port(req), req.query);
    return { items: rows, next: rows.length === req.query.limit ? (rows.at(-1)?.id ?? null) : null };
  });

  app.get('/api/audit.csv', {
    config: { permission: 'audit.read' },
    schema: { summary: 'The audit log as CSV (same filters; up to 100,000 rows)', querystring: AuditQuery.omit({ limit: true }) },
  }, (req, reply) => {
    const rows = audit.query(ctx.port(req), { ...req.query, limit: 100_000 });
    const lines = ['id,at,actor,action,subject,detail', ...rows.map((r) => [String(r.id), new Date(r.at).toISOString(), r.actor, r.action, r.subject, JSON.stringify(r.detail)].map(csvField).join(','))];
    audit.write(ctx.port(req), 'audit.export', 'audit', { rows: rows.length });
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="audit.csv"').send(`${lines.join('\r\n')}\r\n`);
  });
}
