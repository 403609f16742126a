/**
 * Visitor passes (signed QR codes): issued by the security office or an admin, listed, revoked. The
 * answer to an issue carries the QR code's text, which the caller draws (PNG or SVG); the label stays in
 * hub.db. Issuing signs with the hub's key: the hub must have been started with the passphrase (503
 * otherwise). A resident's own pass for their visitor is routes/residents.ts.
 */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { MAX_SCOPE_ENTRIES, PassIdSchema } from '../../../runtime/protocol/pass';
import { MAX_VALID_FOR_MS } from '../../admin/passes';
import { passes, type IssuedPass } from '../admin-port';
import type { ApiApp, ApiContext } from '../server';

export const PassInSchema = z.strictObject({
  doors: z.array(IdSchema).max(MAX_SCOPE_ENTRIES).default([]),
  buildings: z.array(IdSchema).max(MAX_SCOPE_ENTRIES).default([]),
  /** ms since the epoch (default: now) */
  notBefore: z.number().int().min(0).optional(),
  validForMs: z.number().int().min(60_000).max(MAX_VALID_FOR_MS).optional(),
  /** 1..255; 0: any number within the window (default 1) */
  uses: z.number().int().min(0).max(255).optional(),
  label: z.string().max(200).optional(),
});

export const PassView = z.strictObject({
  passId: z.string(),
  doors: z.array(z.string()),
  buildings: z.array(z.string()),
  notBefore: z.number(),
  notAfter: z.number(),
  uses: z.number(),
  label: z.string().nullable(),
  issuedBy: z.string(),
  issuedAt: z.number(),
  revokedAt: z.number().nullable(),
  revokedBy: z.string().nullable(),
  used: z.number(),
});

export const IssuedPassView = z.strictObject({ pass: PassView, text: z.string(), qr: z.strictObject({ version: z.number(), size: z.number() }) });

export const issuedView = (i: IssuedPass): z.infer<typeof IssuedPassView> => ({ pass: i.record, text: i.text, qr: i.qr });

/** The input as the admin library takes it (absent options left out). */
export function passInput(b: z.infer<typeof PassInSchema>): Parameters<typeof passes.issue>[2] {
  return {
    doors: b.doors,
    buildings: b.buildings,
    ...(b.notBefore !== undefined ? { notBefore: b.notBefore } : {}),
    ...(b.validForMs !== undefined ? { validForMs: b.validForMs } : {}),
    ...(b.uses !== undefined ? { uses: b.uses } : {}),
    ...(b.label !== undefined ? { label: b.label } : {}),
  };
}

export function passRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/passes', {
    config: { permission: 'passes.read' },
    schema: { summary: 'Every pass issued, oldest first, with its uses per terminal', response: { 200: z.strictObject({ items: z.array(PassView.extend({ usedBy: z.record(z.string(), z.number()) })) }) } },
  }, (req) => ({ items: passes.list(ctx.port(req)) }));

  app.post('/api/passes', {
    config: { permission: 'passes.write' },
    schema: { summary: 'A signed visitor pass (the QR code text; the label stays in hub.db)', body: PassInSchema, response: { 201: IssuedPassView } },
  }, (req, reply) => {
    void reply.code(201);
    return issuedView(passes.issue(ctx.port(req), ctx.passphrase, passInput(req.body)));
  });

  app.post('/api/passes/:id/revoke', {
    config: { permission: 'passes.write' },
    schema: { summary: 'Revoke: refused at every door from the next roster version on', params: z.strictObject({ id: PassIdSchema }), response: { 200: PassView } },
  }, (req) => passes.revoke(ctx.port(req), req.params.id));
}
