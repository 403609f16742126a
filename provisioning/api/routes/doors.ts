/** Doors (state and alarms), remote unlock with a reason, terminals and fleet health. */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { doors, events, fleet } from '../admin-port';
import { visibleTo } from '../policy';
import { ApiProblem } from '../problem';
import type { ApiApp, ApiContext } from '../server';
import { fail } from './session';

const DoorView = z.strictObject({
  doorId: z.string(),
  buildingId: z.string(),
  online: z.boolean(),
  terminals: z.array(z.strictObject({ terminalId: z.string(), online: z.boolean(), lastHeartbeat: z.number().nullable(), faults: z.array(z.string()).nullable() })),
  alarms: z.array(z.strictObject({ type: z.string(), at: z.number(), terminalId: z.string() })),
});

/** The alarms shown with the doors are found among the last this many events (the newest first). */
const ALARM_LOOKBACK = 2000;

export function doorRoutes(app: ApiApp, ctx: ApiContext): void {
  const list = (req: Parameters<ApiContext['port']>[0]): Array<z.infer<typeof DoorView>> => {
    const port = ctx.port(req);
    const rows = fleet.status(port).filter((r) => r.status === 'active');
    const alarms = new Map<string, Array<{ type: string; at: number; terminalId: string }>>();
    const term = new Map(rows.map((r) => [r.terminalId, r.doorId]));
    let after = events.tailStart(port, ALARM_LOOKBACK);
    const recent: Array<{ type: string; at: number; terminalId: string }> = [];
    for (;;) {
      const r = events.read(port, after, 1000);
      for (const e of r.events) if (e.event.type.startsWith('alarm.')) recent.push({ type: e.event.type, at: e.event.at, terminalId: e.terminalId });
      if (r.events.length < 1000) break;
      after = r.last;
    }
    for (const a of recent) {
      const d = term.get(a.terminalId);
      if (d) alarms.set(d, [...(alarms.get(d) ?? []), a]);
    }
    const byDoor = new Map<string, Array<(typeof rows)[number]>>();
    for (const r of rows) byDoor.set(r.doorId, [...(byDoor.get(r.doorId) ?? []), r]);
    return [...byDoor].map(([doorId, ts]) => ({
      doorId,
      buildingId: ts[0]?.buildingId ?? '',
      online: ts.some((t) => t.online),
      terminals: ts.map((t) => ({ terminalId: t.terminalId, online: t.online, lastHeartbeat: t.lastHeartbeat, faults: t.faults })),
      alarms: (alarms.get(doorId) ?? []).slice(-20).reverse(),
    }));
  };

  const buildingOfDoor = (doorId: string): string[] | null => {
    const t = doors.terminals({ community: ctx.community }).find((x) => x.doorId === doorId && x.status === 'active');
    return t ? [t.buildingId] : null;
  };

  app.get('/api/doors', {
    config: { permission: 'doors.read' },
    schema: { summary: 'Doors with their state and recent alarms (a manager: their buildings)', response: { 200: z.strictObject({ items: z.array(DoorView) }) } },
  }, (req) => {
    const p = req.principal ?? fail();
    return { items: list(req).filter((d) => visibleTo(p, [d.buildingId])) };
  });

  app.get('/api/doors/:id', {
    config: { permission: 'doors.read', buildings: (req) => buildingOfDoor((req.params as { id: string }).id) },
    schema: { params: z.strictObject({ id: IdSchema }), response: { 200: DoorView } },
  }, (req) => {
    const d = list(req).find((x) => x.doorId === req.params.id);
    if (!d) throw new ApiProblem(404, 'door-unknown', `no door ${req.params.id}`);
    return d;
  });

  // An unlock names a door (every active terminal at it) or one terminal.
  const buildingOfTarget = (id: string): string[] | null => {
    const t = doors.terminals({ community: ctx.community }).find((x) => (x.doorId === id || x.id === id) && x.status === 'active');
    return t ? [t.buildingId] : null;
  };

  app.post('/api/doors/:id/unlock', {
    config: { permission: 'doors.unlock', buildings: (req) => buildingOfTarget((req.params as { id: string }).id) },
    schema: {
      summary: 'Remote unlock of a door (or of one terminal by its id): a signed, expiring command; requestedBy is the caller; the reason is audited',
      params: z.strictObject({ id: IdSchema }),
      body: z.strictObject({ reason: z.string().trim().min(3).max(500), seconds: z.number().int().min(1).max(60).default(5), waitMs: z.number().int().min(0).max(10_000).default(0) }),
      response: { 202: z.strictObject({ commands: z.array(z.strictObject({ id: z.number(), terminalId: z.string(), status: z.string() })) }) },
    },
  }, async (req, reply) => {
    if (buildingOfTarget(req.params.id) === null) throw new ApiProblem(404, 'door-unknown', `no active terminal or door ${req.params.id}`);
    const port = ctx.port(req);
    const ids = doors.unlock(port, req.params.id, req.body.seconds, req.body.reason);
    return reply.code(202).send({ commands: await doors.awaitCommands(port, ids, req.body.waitMs) });
  });

  app.get('/api/terminals', {
    config: { permission: 'terminals.read' },
    schema: { summary: "Terminals and fleet health (online, heartbeat, roster lag, outbox, faults, certificate), and the hub's and the broker's certificates" },
  }, (req) => {
    const port = ctx.port(req);
    return { items: fleet.status(port), certificates: fleet.certificates(port) };
  });
}
