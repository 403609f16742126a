/** `provision alert add|clear|list`: alert tags, through the hub's API (/api/alerts). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import { common, commonSchema, photosIn, positionals, time, type Command } from './common';
import { connect } from './connect';
import { localPhotoRefusal } from './photos';

export const alertCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`alert ${sub ?? ''}`, rest, { ...common, tag: { type: 'string' }, photo: { type: 'string', multiple: true }, person: { type: 'string' }, note: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, tag: z.string().optional(), photo: z.array(z.string()).optional(), person: z.string().optional(), note: z.string().max(500).optional(), json: z.boolean().optional() }));
  const amax = ({ add: 0, clear: 1, list: 0 } as Record<string, number>)[sub ?? ''];
  if (amax !== undefined) positionals(`alert ${sub ?? ''}`, o.positionals, amax);
  switch (sub ?? '') {
    case 'add': {
      if (!o.tag) throw new InvalidInputError('alert add', ['--tag is required']);
      const tag = parseId('tag', o.tag);
      const personId = o.person === undefined ? undefined : parseId('person', o.person);
      if (!personId && !o.photo?.length) throw new InvalidInputError('alert add', ['give --person ID or at least one --photo']);
      const photos = o.photo ? photosIn(o.photo) : undefined;
      const hub = await connect(o.dir);
      const p = await localPhotoRefusal(o.photo ?? [], hub.alertTags.add({ tag, ...(personId ? { personId } : {}), ...(photos ? { photos } : {}), ...(o.note ? { note: o.note } : {}) }));
      io.out(`alert ${tag} on ${p.personId}: published to every door by the hub`);
      return 0;
    }
    case 'clear': {
      const given = o.tag ?? o.positionals[0];
      if (!given) throw new InvalidInputError('alert clear', ['--tag is required']);
      const tag = parseId('tag', given);
      const r = await (await connect(o.dir)).alertTags.clear(tag);
      io.out(`alert ${tag} cleared: ${r.untagged.length} untagged, ${r.revoked.length} alert subject(s) revoked`);
      return 0;
    }
    case 'list': {
      const tag = o.tag === undefined ? undefined : parseId('tag', o.tag);
      const r = await (await connect(o.dir)).alerts(tag);
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else {
        for (const p of r.active) io.out(`active\t${p.tags.join(',')}\t${p.personId}${p.note ? `\t${p.note}` : ''}`);
        for (const s of r.sightings) io.out(`sighting\t${s.tag}\t${s.personId}\tdoor=${s.doorId}\tterminal=${s.terminalId}\tscore=${s.score.toFixed(3)}\t${time(s.at)}\twebhook=${s.webhook}`);
      }
      return 0;
    }
    default:
      throw new InvalidInputError('alert', ['expected add, clear or list']);
  }
};
