/**
 * A person's rights (issue 16 item 6): `GET /api/persons/{id}/export` everything the hub holds about a
 * person as one JSON document (photos base64; provisioning/admin/person-export.ts), `POST
 * /api/persons/{id}/erase` their erasure everywhere with the report of where what was deleted
 * (provisioning/admin/erasure.ts), `GET /api/persons/{id}/erasure` which terminals have confirmed a
 * revocation or erasure and which are pending. Residents and alert subjects alike.
 *
 * Who: the export is the admin's, and a manager's for a resident all of whose buildings are theirs
 * (like a change: an export carries everything, entries at other buildings' doors too); the erasure is
 * the admin's alone; the erasure's state is read like the resident (admin, auditor, a manager of one of
 * their buildings). An unknown id: 404 (a manager: 403, as everywhere); nothing changes on a refusal.
 */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { rights } from '../admin-port';
import { personBuildings } from '../buildings';
import type { ApiApp, ApiContext } from '../server';

const Params = z.strictObject({ id: IdSchema });
const Rows = z.array(z.record(z.string(), z.unknown()));

const ErasureStatusView = z.strictObject({
  personId: z.string(),
  kind: z.enum(['revoke', 'erase']),
  requestedAt: z.number(),
  requestedBy: z.string(),
  tombstoneVersion: z.number().nullable(),
  compactedDeltas: z.number().nullable(),
  confirmed: z.array(z.strictObject({ terminalId: z.string(), rosterVersion: z.number(), confirmedAt: z.number() })),
  pending: z.array(z.string()),
});

const HubDbDeleted = z.strictObject({
  registrations: z.number(),
  alerts: z.number(),
  passLabels: z.number(),
  auditRowsScrubbed: z.number(),
  adaptedTemplates: z.number(),
  photoMoves: z.number(),
  templates: z.number(),
  credentials: z.boolean(),
  label: z.boolean(),
  note: z.boolean(),
  tombstone: z.enum(['new', 'already revoked']),
});
const Reclaimed = z.strictObject({ freedPages: z.number(), walTruncated: z.boolean() });

export const ErasureReportView = z.strictObject({
  personId: z.string(),
  erasedAt: z.number(),
  erasedBy: z.string(),
  deleted: z.strictObject({ hubDb: HubDbDeleted, photos: z.number(), eventsDb: z.number() }),
  reclaimed: z.strictObject({ hubDb: Reclaimed, eventsDb: Reclaimed.nullable() }),
  status: ErasureStatusView,
});

export const PersonExportView = z.strictObject({
  v: z.literal(1),
  exportedAt: z.number(),
  exportedBy: z.string(),
  person: z.record(z.string(), z.unknown()),
  photos: z.array(z.strictObject({ name: z.string(), contentType: z.string(), data: z.string() })),
  registrations: Rows,
  alerts: Rows,
  passes: Rows,
  passUses: Rows,
  audit: Rows,
  adaptedTemplates: Rows,
  events: z.array(z.strictObject({ terminalId: z.string(), receivedAt: z.number(), event: z.record(z.string(), z.unknown()) })),
  erasure: ErasureStatusView.nullable(),
});

export function personRightsRoutes(app: ApiApp, ctx: ApiContext): void {
  /** A person's buildings (an alert subject has none: the admin's); null when there is no such person. */
  const buildingsOf = (id: string): string[] | null => {
    const p = ctx.community.db.person(id);
    return p ? (p.kind === 'resident' ? personBuildings(ctx.community, p) : []) : null;
  };

  app.get('/api/persons/:id/export', {
    config: { permission: 'persons.export', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { summary: "Everything the hub holds about a person, as one JSON document (photos base64); audited", params: Params, response: { 200: PersonExportView } },
  }, (req) => rights.export(ctx.port(req), req.params.id) as unknown as z.infer<typeof PersonExportView>);

  app.post('/api/persons/:id/erase', {
    config: { permission: 'persons.erase' },
    schema: {
      summary: "Erase a person everywhere (revocation, registrations, photos, events, sightings; audit rows reduced to the fact); the report says where what was deleted and which terminals have confirmed",
      params: Params,
      body: z.strictObject({ confirm: z.literal(true) }),
      response: { 200: ErasureReportView },
    },
  }, (req) => rights.erase(ctx.port(req), req.params.id));

  app.get('/api/persons/:id/erasure', {
    config: { permission: 'residents.read', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { summary: "A revoked or erased person's tombstone: the terminals that have confirmed it, and those pending", params: Params, response: { 200: ErasureStatusView } },
  }, (req) => rights.erasureStatus(ctx.port(req), req.params.id));
}
