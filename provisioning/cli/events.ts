/** `provision events tail`: the events the hub stored, read through its event store (provisioning/admin/fleet.ts). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { eventsTailStart, readEvents } from '../admin/fleet';
import type { StoredEvent } from '../hub/event-store';
import { adminContext, common, commonSchema, positionals, time, withCommunity, type Command } from './common';

function eventLine(e: StoredEvent): string {
  const ev = e.event;
  const base = `${time(ev.at)}\t${e.terminalId}\t${ev.type}`;
  switch (ev.type) {
    case 'entry.granted':
      return `${base}\t${ev.personId}\t${ev.credential}${ev.passId ? ` ${ev.passId}` : ''}\tscore=${ev.score ?? '-'}\t${ev.latencyMs} ms`;
    case 'entry.denied':
      return `${base}\t${ev.reason}\t${ev.credential}${ev.passId ? ` ${ev.passId}` : ''}\t${ev.personId ?? '-'}\tscore=${ev.score ?? '-'}`;
    case 'alarm.duress':
      return `${base}\t${ev.personId}\tdoor=${ev.doorId}\t${ev.credential}`;
    case 'alert.sighting':
      return `${base}\t${ev.tag}\t${ev.personId}\tdoor=${ev.doorId}\tscore=${ev.score}`;
    case 'alarm.held-open':
      return `${base}\topen ${ev.openMs} ms`;
    case 'alarm.fire':
      return `${base}\t${ev.state}`;
    case 'alarm.tamper':
      return `${base}\t${ev.input}`;
    case 'roster.integrity':
      return `${base}\t${ev.rejectedRows} rows rejected (${ev.code})`;
    case 'camera.stall':
      return `${base}\tsilent ${ev.silentMs} ms`;
    case 'camera.recovery':
      return `${base}\tafter ${ev.stalledMs} ms`;
    case 'alarm.forced-open':
      return base;
    case 'terminal.wiped':
      return `${base}\t${ev.outcome}\t${ev.persons} persons, ${ev.templates} templates`;
    case 'config.reload':
      return `${base}\t${ev.outcome}${ev.sections.length ? `\tsections=${ev.sections.join(',')}` : ''}${ev.problems.length ? `\tproblems=${ev.problems.join(',')}` : ''}`;
    case 'door.released':
      return `${base}\t${ev.source}${ev.personId ? `\t${ev.personId}` : ''}${ev.requestedBy ? `\tby=${ev.requestedBy}\tcommand=${ev.commandId ?? '-'}` : ''}${ev.durationMs ? `\t${ev.durationMs} ms` : ''}`;
    case 'unlock.refused':
      return `${base}\t${ev.reason}\tby=${ev.requestedBy}\tcommand=${ev.commandId}`;
    case 'alarm.relay-fault':
      return `${base}\t${ev.state}\tintended=${ev.intended}`;
    case 'terminal.fault':
      return `${base}\t${ev.code}\t${ev.state}`;
    case 'update.outcome':
      return `${base}\t${ev.outcome}\t${ev.version ?? '-'}\trunning=${ev.running ?? '-'}${ev.reason ? `\t${ev.reason}` : ''}${ev.detail ? `\t${ev.detail}` : ''}`;
  }
}

export const eventsCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`events ${sub ?? ''}`, rest, { ...common, n: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, n: z.coerce.number().int().min(0).optional(), follow: z.boolean().optional(), json: z.boolean().optional() }));
  if (sub !== 'tail') throw new InvalidInputError('events', ['expected tail']);
  positionals('events tail', o.positionals, 0);
  return withCommunity(o.dir, async (c) => {
    const ctx = adminContext(c, o.as);
    let last = eventsTailStart(ctx, { n: o.n ?? 20 });
    let stop = false;
    if (o.follow) {
      process.once('SIGINT', () => (stop = true));
      process.once('SIGTERM', () => (stop = true));
    }
    do {
      const r = readEvents(ctx, { after: last });
      for (const e of r.events) io.out(o.json ? JSON.stringify(e) : eventLine(e));
      last = r.last;
      if (o.follow && r.events.length === 0) await new Promise((res) => setTimeout(res, 500));
    } while (o.follow && !stop);
    return 0;
  });
};
