/** `provision alert add|clear|list`: alert tags (provisioning/admin/alerts.ts). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { addAlert, clearAlert, listAlerts } from '../admin/alerts';
import { adminContext, common, commonSchema, positionals, time, withCommunity, withEnroller, type Command } from './common';

export const alertCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`alert ${sub ?? ''}`, rest, { ...common, tag: { type: 'string' }, photo: { type: 'string', multiple: true }, person: { type: 'string' }, note: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, tag: z.string().optional(), photo: z.array(z.string()).optional(), person: z.string().optional(), note: z.string().optional(), json: z.boolean().optional() }));
  const amax = ({ add: 0, clear: 1, list: 0 } as Record<string, number>)[sub ?? ''];
  if (amax !== undefined) positionals(`alert ${sub ?? ''}`, o.positionals, amax);
  return withCommunity(o.dir, async (c) => {
    const ctx = adminContext(c, o.as);
    switch (sub ?? '') {
      case 'add': {
        if (!o.tag) throw new InvalidInputError('alert add', ['--tag is required']);
        const tag = o.tag;
        const input = { tag, ...(o.person ? { personId: o.person } : {}), ...(o.photo ? { photos: o.photo } : {}), ...(o.note ? { note: o.note } : {}) };
        const p = o.photo ? await withEnroller((enroller) => addAlert({ ...ctx, enroller }, input)) : await addAlert(ctx, input);
        io.out(`alert ${tag} on ${p.personId}: published to every door by the hub`);
        return 0;
      }
      case 'clear': {
        const tag = o.tag ?? o.positionals[0];
        if (!tag) throw new InvalidInputError('alert clear', ['--tag is required']);
        const r = clearAlert(ctx, { tag });
        io.out(`alert ${tag} cleared: ${r.untagged.length} untagged, ${r.revoked.length} alert subject(s) revoked`);
        return 0;
      }
      case 'list': {
        const r = listAlerts(ctx, o.tag !== undefined ? { tag: o.tag } : {});
        if (o.json) io.out(JSON.stringify({ active: r.active.map((p) => ({ personId: p.personId, kind: p.kind, tags: p.tags, note: p.note })), sightings: r.sightings }, null, 2));
        else {
          for (const p of r.active) io.out(`active\t${p.tags.join(',')}\t${p.personId}${p.note ? `\t${p.note}` : ''}`);
          for (const s of r.sightings) io.out(`sighting\t${s.tag}\t${s.personId}\tdoor=${s.doorId}\tterminal=${s.terminalId}\tscore=${s.score.toFixed(3)}\t${time(s.at)}\twebhook=${s.webhook}`);
        }
        return 0;
      }
      default:
        throw new InvalidInputError('alert', ['expected add, clear or list']);
    }
  });
};
