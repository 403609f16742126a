/** `provision events tail`: the events the hub stored, through the hub's API (/api/events; admin, security, auditor). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import type { StoredEvent } from '../hub/event-store';
import { common, commonSchema, positionals, time, type Command } from './common';
import { connect } from './connect';

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
  const hub = await connect(o.dir);
  let stop = false;
  if (o.follow) {
    process.once('SIGINT', () => (stop = true));
    process.once('SIGTERM', () => (stop = true));
  }
  let r = await hub.events({ last: o.n ?? 20, limit: 500 });
  for (;;) {
    for (const e of r.items as StoredEvent[]) io.out(o.json ? JSON.stringify(e) : eventLine(e));
    if (r.items.length === 500 || (o.follow && !stop)) {
      if (r.items.length < 500) await new Promise((res) => setTimeout(res, 500));
      r = await hub.events({ after: r.next, limit: 500 });
    } else return 0;
  }
};
