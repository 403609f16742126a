/**
 * Software rollouts (provisioning/update/rollouts.ts): status and log (updates.read: admin, security,
 * auditor), start, pause, resume, abort (updates.manage: admin). The calls go to the hub's Rollouts,
 * the one the hub's MQTT side feeds (not the admin library: a rollout needs the hub's bundle server);
 * the caller is the actor of every audit row and queued offer.
 */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { VersionSchema } from '../../../runtime/update/manifest';
import { publishedVersions } from '../../update/bundles';
import type { RolloutView } from '../../update/rollouts';
import type { ApiApp, ApiContext } from '../server';

const TerminalView = z.strictObject({
  terminalId: z.string(),
  wave: z.number(),
  status: z.string(),
  reason: z.string().nullable(),
  online: z.boolean(),
  version: z.string().nullable(),
  updateState: z.string().nullable(),
});

export const RolloutViewSchema = z.strictObject({
  id: z.number(),
  version: z.string(),
  bundle: z.string(),
  phase: z.enum(['running', 'paused', 'halted', 'aborted', 'done']),
  waves: z.array(z.array(z.string())),
  opened: z.number(),
  failures: z.number(),
  maxFailures: z.number(),
  startedBy: z.string(),
  startedAt: z.number(),
  updatedAt: z.number(),
  terminals: z.array(TerminalView),
});

const Percent = z.number().int().min(1).max(100);

export const RolloutStartSchema = z.strictObject({
  version: VersionSchema,
  canary: z.array(IdSchema).max(50).optional(),
  /** Cumulative percentages of the fleet, increasing, ending at 100. */
  waves: z.array(Percent).min(1).max(20).optional(),
  maxFailures: z.number().int().min(0).max(10_000).optional(),
});

export function updateRoutes(app: ApiApp, ctx: ApiContext): void {
  const current = (): RolloutView | null => {
    const r = ctx.rollouts.current();
    return r ? ctx.rollouts.view(r) : null;
  };

  app.get('/api/updates', {
    config: { permission: 'updates.read' },
    schema: {
      summary: 'Published bundles, whether this hub serves them, and the latest rollout with each terminal (version, update state, status, reason)',
      response: { 200: z.strictObject({ serving: z.boolean(), published: z.array(z.string()), rollout: RolloutViewSchema.nullable() }) },
    },
  }, () => ({ serving: ctx.rollouts.serving(), published: publishedVersions(ctx.community), rollout: current() }));

  app.get('/api/updates/rollout/log', {
    config: { permission: 'updates.read' },
    schema: {
      summary: 'The log of the latest rollout (or of rollout `id`), after line `after`',
      querystring: z.strictObject({ id: z.coerce.number().int().min(1).optional(), after: z.coerce.number().int().min(0).default(0) }),
      response: { 200: z.strictObject({ id: z.number().nullable(), lines: z.array(z.strictObject({ id: z.number(), at: z.number(), line: z.string() })) }) },
    },
  }, (req) => {
    const id = req.query.id ?? ctx.rollouts.current()?.id ?? null;
    return { id, lines: id === null ? [] : ctx.rollouts.logLines(id, req.query.after) };
  });

  app.post('/api/updates/rollout', {
    config: { permission: 'updates.manage' },
    schema: {
      summary: 'Start a staged rollout of a published version to every active terminal: canaries, then waves by cumulative %; more than maxFailures failures halt it',
      body: RolloutStartSchema,
      response: { 201: RolloutViewSchema },
    },
  }, async (req, reply) => {
    const r = ctx.rollouts.start(req.body, ctx.port(req).actor);
    return reply.code(201).send(ctx.rollouts.view(r));
  });

  for (const kind of ['pause', 'resume', 'abort'] as const) {
    app.post(`/api/updates/rollout/${kind}`, {
      config: { permission: 'updates.manage' },
      schema: { summary: `${kind[0]?.toUpperCase() ?? ''}${kind.slice(1)} the current rollout`, response: { 200: RolloutViewSchema } },
    }, (req) => ctx.rollouts.view(ctx.rollouts.control(kind, ctx.port(req).actor)));
  }
}
