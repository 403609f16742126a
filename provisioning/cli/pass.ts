/** `provision pass issue|revoke|list`: visitor passes as QR codes, through the hub's API (/api/passes; admin, security). */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import { writePassImage } from '../admin/passes';
import { common, commonSchema, list, positionals, time, type Command } from './common';
import { connect } from './connect';

/** 90s, 30m, 2h, 3d -> ms. */
function duration(v: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) throw new InvalidInputError('--valid-for', ['a number with s, m, h or d: 90m, 2h, 3d']);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export const passCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`pass ${sub ?? ''}`, rest,
    { ...common, door: { type: 'string', multiple: true }, building: { type: 'string', multiple: true }, 'valid-for': { type: 'string' }, from: { type: 'string' }, uses: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    z.strictObject({ ...commonSchema, door: z.array(z.string()).optional(), building: z.array(z.string()).optional(), 'valid-for': z.string().optional(), from: z.iso.datetime({ offset: true }).optional(), uses: z.string().regex(/^\d{1,3}$/).optional(), label: z.string().max(200).optional(), out: z.string().optional(), json: z.boolean().optional() }));
  const pmax = ({ issue: 0, revoke: 1, list: 0 } as Record<string, number>)[sub ?? ''];
  if (pmax !== undefined) positionals(`pass ${sub ?? ''}`, o.positionals, pmax);
  switch (sub ?? '') {
    case 'issue': {
      if (!o.out) throw new InvalidInputError('pass issue', ['--out FILE.png or FILE.svg is required']);
      if (!/\.(png|svg)$/i.test(o.out)) throw new InvalidInputError('pass issue', [`${o.out}: write a .png or an .svg`]);
      const issued = await (await connect(o.dir)).passes.issue({
        doors: (list(o.door) ?? []).map((d) => parseId('door', d)),
        buildings: (list(o.building) ?? []).map((b) => parseId('building', b)),
        ...(o['valid-for'] ? { validForMs: duration(o['valid-for']) } : {}),
        ...(o.from ? { notBefore: Date.parse(o.from) } : {}),
        ...(o.uses ? { uses: Number(o.uses) } : {}),
        ...(o.label ? { label: o.label } : {}),
      });
      await writePassImage({ text: issued.text, file: o.out });
      const r = issued.pass;
      if (o.json) io.out(JSON.stringify({ passId: r.passId, doors: r.doors, buildings: r.buildings, notBefore: time(r.notBefore), notAfter: time(r.notAfter), uses: r.uses, qrVersion: issued.qr.version, file: o.out }));
      else io.out(`pass ${r.passId}: ${[...r.doors, ...r.buildings.map((b) => `building ${b}`)].join(', ')}, ${time(r.notBefore)} to ${time(r.notAfter)}, ${r.uses === 0 ? 'any number of uses' : `${r.uses} use(s) per door`}; QR version ${issued.qr.version} (${issued.qr.size}x${issued.qr.size}) in ${o.out}`);
      return 0;
    }
    case 'revoke': {
      const id = o.positionals[0];
      if (!id) throw new InvalidInputError('pass revoke', ['give the pass id']);
      if (!/^[0-9a-f]{16}$/.test(id)) throw new InvalidInputError('pass revoke', ['a pass id is 16 hex digits']);
      const r = await (await connect(o.dir)).passes.revoke(id);
      io.out(`pass ${r.passId} revoked: the hub sends the revocation to every door with the next roster version`);
      return 0;
    }
    case 'list': {
      const ps = (await (await connect(o.dir)).passes.list()).items;
      if (o.json) io.out(JSON.stringify(ps, null, 2));
      else {
        for (const p of ps) {
          const by = Object.entries(p.usedBy).map(([t, n]) => `${t}:${n}`).join(',');
          io.out(`${p.passId}\t${[...p.doors, ...p.buildings.map((b) => `building:${b}`)].join(',')}\t${time(p.notBefore)}\t${time(p.notAfter)}\tuses=${p.used}/${p.uses || 'any'}${by ? ` (${by})` : ''}\t${p.revokedAt ? `revoked ${time(p.revokedAt)}` : 'valid'}${p.label ? `\t${p.label}` : ''}`);
        }
      }
      return 0;
    }
    default:
      throw new InvalidInputError('pass', ['expected issue, revoke or list']);
  }
};
