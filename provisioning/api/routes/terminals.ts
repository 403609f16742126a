/**
 * Terminals, managed by an admin: add (the answer carries the terminal's bundle, written by the
 * caller; device key and secrets included, so it is sent once and never stored or logged here), revoke
 * (CRL, ACL, broker reload), certificate renewal, and the signed commands to a running terminal: wipe
 * (confirmed), roster resync, configuration reload. Adding, revoking and renewing use the CA: the hub
 * must have been started with the passphrase (503 otherwise).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { doors, terminals, type QueuedCommand } from '../admin-port';
import type { ApiApp, ApiContext } from '../server';

const Params = z.strictObject({ id: IdSchema });

const TerminalView = z.strictObject({
  id: z.string(),
  doorId: z.string(),
  buildingId: z.string(),
  serial: z.string(),
  status: z.enum(['active', 'revoked']),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
});

export const CommandsView = z.strictObject({ commands: z.array(z.strictObject({ id: z.number(), terminalId: z.string(), status: z.string() })) });

/** How long a command route waits for the hub to send what it queued (0: answer at once, `queued`). */
const WaitSchema = z.number().int().min(0).max(60_000).default(0);

export function terminalRoutes(app: ApiApp, ctx: ApiContext): void {
  const answer = async (req: FastifyRequest, ids: number[], waitMs: number): Promise<{ commands: QueuedCommand[] }> => ({
    commands: await doors.awaitCommands(ctx.port(req), ids, waitMs),
  });

  app.post('/api/terminals', {
    config: { permission: 'terminals.write' },
    schema: {
      summary: "A new terminal: its identity from the community CA, recorded and audited; answers the bundle's files (base64) for the installer",
      body: z.strictObject({ id: IdSchema, doorId: IdSchema, buildingId: IdSchema.optional(), cameraUrl: z.string().max(500).optional() }),
      response: { 201: z.strictObject({ terminal: TerminalView, files: z.array(z.strictObject({ name: z.string(), data: z.string(), private: z.boolean() })) }) },
    },
  }, (req, reply) => {
    const b = req.body;
    const r = terminals.add(ctx.port(req), ctx.passphrase, { id: b.id, doorId: b.doorId, ...(b.buildingId ? { buildingId: b.buildingId } : {}), ...(b.cameraUrl ? { cameraUrl: b.cameraUrl } : {}) });
    void reply.code(201);
    return { terminal: r.terminal, files: r.files.map((f) => ({ name: f.name, data: f.data.toString('base64'), private: f.private })) };
  });

  app.post('/api/terminals/:id/revoke', {
    config: { permission: 'terminals.write' },
    schema: { summary: 'Revoke: its certificates on the CRL, out of the ACL, the broker reloaded; the hub ignores it', params: Params, response: { 200: z.strictObject({ broker: z.enum(['reloaded', 'not-running']) }) } },
  }, (req) => terminals.revoke(ctx.port(req), ctx.passphrase, req.params.id));

  app.post('/api/terminals/renew', {
    config: { permission: 'terminals.write' },
    schema: {
      summary: 'Renew terminal certificates (these ids, or every one due); the hub sends them to the terminals',
      body: z.union([z.strictObject({ ids: z.array(IdSchema).min(1).max(500) }), z.strictObject({ due: z.literal(true) })]),
      response: { 200: z.strictObject({ renewed: z.array(z.strictObject({ terminalId: z.string(), notAfter: z.number(), cert: z.string() })) }) },
    },
  }, (req) => ({ renewed: terminals.renew(ctx.port(req), ctx.passphrase, 'due' in req.body ? { due: true } : { ids: req.body.ids }) }));

  app.post('/api/terminals/:id/wipe', {
    config: { permission: 'terminals.write' },
    schema: {
      summary: 'Erase every template and person on this one terminal (its door recognises nobody until a resync); confirm must be true',
      params: Params,
      body: z.strictObject({ confirm: z.boolean(), waitMs: WaitSchema }),
      response: { 202: CommandsView },
    },
  }, async (req, reply) => reply.code(202).send(await answer(req, terminals.wipe(ctx.port(req), req.params.id, req.body.confirm), req.body.waitMs)));

  app.post('/api/terminals/:id/resync', {
    config: { permission: 'terminals.write' },
    schema: { summary: 'The terminal fetches a full roster snapshot (also ends a wipe)', params: Params, body: z.strictObject({ waitMs: WaitSchema }), response: { 202: CommandsView } },
  }, async (req, reply) => reply.code(202).send(await answer(req, terminals.resync(ctx.port(req), req.params.id), req.body.waitMs)));

  app.post('/api/terminals/reload-config', {
    config: { permission: 'terminals.write' },
    schema: {
      summary: 'Config push: one terminal (terminalId) or every active one reloads its configuration file',
      body: z.strictObject({ terminalId: IdSchema.optional(), waitMs: WaitSchema }),
      response: { 202: CommandsView },
    },
  }, async (req, reply) => reply.code(202).send(await answer(req, terminals.reloadConfig(ctx.port(req), req.body.terminalId), req.body.waitMs)));
}
