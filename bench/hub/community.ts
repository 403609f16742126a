/**
 * The community of `npm run bench:hub`, shaped like the one this is built for (966 buildings, 683
 * building managers, doors at the buildings and gates) and filled straight through the hub's store
 * (HubDb) in one transaction: residents as the approval of a tenant's registration leaves them (a
 * registration row with the name, the masked identity number, building and room; a person with two
 * 512-d templates and access to their building, some to the gates too, some until the tenancy ends),
 * a few added by `provision person add` (no registration), and pending registrations for the bench to
 * approve through the API. Names are made up from common surname and given-name characters; nothing
 * here is a real person. Buildings, names, rooms and access are the same for the same seed, so runs
 * are comparable (ids and embeddings are random).
 */
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { HubDb } from '../../provisioning/db';
import { newPhotoKey } from '../../provisioning/photos';
import { maskIdNumber } from '../../provisioning/api/realname';
import { encodeEmbedding, type AuthorisationIn } from '../../runtime/roster/batch';
import { rng } from '../../test/fixtures/random';

export const BUILDINGS = 966;
export const MANAGERS = 683;
/** Doors with a terminal: the community's gates and one door at each of the first buildings (200 in all). */
export const GATES = 8;
export const BUILDING_DOORS = 192;
export const GATE_BUILDING = 'gates';
export const MODEL_ID = 'faceplugin-fr_feature@0.0.1';

export const buildingId = (i: number): string => `b-${String(i + 1).padStart(3, '0')}`;
export const gateDoor = (i: number): string => `gate-${i + 1}`;
export const managerId = (i: number): string => `mgr-${String(i + 1).padStart(3, '0')}`;

/**
 * A manager's buildings: manager i has building i, and the first managers a second one, so that the
 * 683 managers cover all 966 buildings.
 */
export function managerBuildings(i: number): string[] {
  const extra = MANAGERS + i;
  return extra < BUILDINGS ? [buildingId(i), buildingId(extra)] : [buildingId(i)];
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌波宇浩凯健俊帆帅旭宁龙林欣佳思雨晨阳梦雪琳晶怡婷倩颖慧嘉子涵轩博航泽瑞';

function pick(s: string, r: () => number): string {
  return [...s][Math.floor(r() * [...s].length)] ?? '';
}

export function residentName(r: () => number): string {
  return pick(SURNAMES, r) + pick(GIVEN, r) + (r() < 0.7 ? pick(GIVEN, r) : '');
}

function roomOf(r: () => number): string {
  return `${1 + Math.floor(r() * 6)}-${1 + Math.floor(r() * 18)}${String(1 + Math.floor(r() * 4)).padStart(2, '0')}`;
}

function idNumber(r: () => number): string {
  let s = '';
  for (let i = 0; i < 17; i++) s += String(Math.floor(r() * 10));
  return s + (r() < 0.1 ? 'X' : String(Math.floor(r() * 10)));
}

function template(personId: string, k: number): { templateId: string; modelId: string; embedding: string } {
  const v = new Float32Array(512);
  const b = randomBytes(512);
  let n = 0;
  for (let i = 0; i < 512; i++) {
    v[i] = ((b[i] ?? 0) - 127.5) / 128;
    n += (v[i] ?? 0) ** 2;
  }
  const norm = Math.sqrt(n) || 1;
  for (let i = 0; i < 512; i++) v[i] = (v[i] ?? 0) / norm;
  return { templateId: `${personId}-t${k + 1}`, modelId: MODEL_ID, embedding: encodeEmbedding(v) };
}

/** Every gate door of the community (bench:community's residents may open them all). */
export const gateDoors = (): string[] => Array.from({ length: GATES }, (_, i) => gateDoor(i));

/**
 * What a resident may open. `sampled` (bench:hub): their building; some the gates too; some until their
 * tenancy ends. `building-and-gates` (bench:community): their building and every gate.
 */
export type AccessMode = 'sampled' | 'building-and-gates';

function accessOf(b: string, r: () => number, now: number, mode: AccessMode): AuthorisationIn {
  if (mode === 'building-and-gates') return { doorIds: gateDoors(), buildingIds: [b] };
  const gates = r() < 0.3 ? [gateDoor(Math.floor(r() * GATES)), gateDoor(Math.floor(r() * GATES))] : [];
  const until = r() < 0.4 ? { validUntil: new Date(now + (30 + Math.floor(r() * 700)) * 86_400_000).toISOString().replace('Z', '+00:00') } : {};
  return { doorIds: [...new Set(gates)], buildingIds: [b], ...until };
}

export interface SeedResult {
  residents: number;
  /** Pending registration ids by building. */
  pending: Array<{ id: string; buildingId: string }>;
  /** Some names and rooms actually in the data, for searches that find something. */
  names: string[];
  rooms: string[];
  ids: string[];
  ms: number;
}

/** The community's 200 doors with a terminal: its gates, then one door at each of the first buildings. */
export function communityDoors(): Array<{ terminalId: string; doorId: string; buildingId: string }> {
  return [
    ...Array.from({ length: GATES }, (_, i) => ({ terminalId: `${gateDoor(i)}-t1`, doorId: gateDoor(i), buildingId: GATE_BUILDING })),
    ...Array.from({ length: BUILDING_DOORS }, (_, i) => ({ terminalId: `t-${buildingId(i)}`, doorId: `d-${buildingId(i)}`, buildingId: buildingId(i) })),
  ];
}

/** `residents` residents (access: `o.access`, default `sampled`), and `pending` pending registrations in `pendingBuildings`. */
export function seedCommunity(db: HubDb, o: { residents: number; pending: number; pendingBuildings: readonly string[]; now: number; seed: number; access?: AccessMode }): SeedResult {
  const t0 = performance.now();
  const r = rng(o.seed);
  const names: string[] = [];
  const rooms: string[] = [];
  const ids: string[] = [];
  const pending: SeedResult['pending'] = [];
  const insertRegistration = db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, decided_by, decided_at, submitted_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'verified', ?, ?, ?, ?)`);
  db.tx(() => {
    const person = (id: string, b: string, status: 'active' | 'pending', at: number): void => {
      db.savePerson({
        personId: id,
        kind: 'resident',
        status,
        label: null,
        note: null,
        templates: [template(id, 0), template(id, 1)],
        authorisations: status === 'active' ? [accessOf(b, r, o.now, o.access ?? 'sampled')] : [],
        tags: [],
        photoKey: newPhotoKey(),
        photos: [`${at}-1.jpg`, `${at}-2.jpg`],
      }, at);
    };
    for (let i = 0; i < o.residents; i++) {
      const b = buildingId(Math.floor(r() * BUILDINGS));
      const at = o.now - Math.floor(r() * 3 * 365 * 86_400_000);
      if (r() < 0.05) {
        person(`p-${String(i + 1).padStart(6, '0')}`, b, 'active', at); // added by `provision person add`: no registration
        continue;
      }
      const id = `r-${ulid(at).toLowerCase()}`;
      const name = residentName(r);
      const room = roomOf(r);
      if (names.length < 500 && r() < 0.05) names.push(name);
      if (rooms.length < 200 && r() < 0.05) rooms.push(room);
      if (ids.length < 200 && r() < 0.05) ids.push(id);
      person(id, b, 'active', at);
      insertRegistration.run(id, id, name, maskIdNumber(idNumber(r)), b, room, JSON.stringify([{ name: `${at}-1.jpg`, verdict: 'passed', reasons: [] }, { name: `${at}-2.jpg`, verdict: 'passed', reasons: [] }]), 'approved', managerId(0), at + 3_600_000, at);
    }
    for (let i = 0; i < o.pending; i++) {
      const b = o.pendingBuildings[i % o.pendingBuildings.length] ?? buildingId(0);
      const at = o.now - 60_000 + i;
      const id = `r-${ulid(at).toLowerCase()}`;
      person(id, b, 'pending', at);
      insertRegistration.run(id, id, residentName(r), maskIdNumber(idNumber(r)), b, roomOf(r), JSON.stringify([{ name: `${at}-1.jpg`, verdict: 'passed', reasons: [] }, { name: `${at}-2.jpg`, verdict: 'passed', reasons: [] }]), 'pending', null, null, at);
      pending.push({ id, buildingId: b });
    }
  });
  return { residents: o.residents, pending, names, rooms, ids, ms: performance.now() - t0 };
}
