/**
 * Update tests: built runtime folders to bundle, a stand-in terminal program shipped inside those
 * bundles, and a byte-for-byte snapshot of an install root. The community that signs bundles is in
 * update-community.ts (kept apart: it opens the hub database, a native addon, and the ARM64 run's
 * native selection follows imports).
 *
 * The stand-in (bin/doorway.js of a test bundle) is what runs after a restart: a real process started
 * from ROOT/current, serving /healthz on DOORWAY_TEST_HEALTH_PORT with the checks a real terminal
 * reports. Its behaviour comes from behaviour.json in its own slot, so a bundle decides how the
 * "terminal" it installs behaves (healthy, crash after N ms, camera never fresh); the door activity
 * comes from the JSON file DOORWAY_TEST_DOOR_FILE names, which a test rewrites to make the door busy.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../core/clock';
import { MANIFEST_PATH } from '../../models/manifest';
import { ProcessServiceManager } from '../../runtime/update/service';

/** Real-time durations in update tests, stretched under the emulated ARM64 run (scripts/arm64/README.md). */
export function scaled(ms: number): number {
  return ms * Number(process.env['DOORWAY_ARM64_TIMEOUT_SCALE'] ?? '1');
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `doorway-${prefix}-`));
}

export type Behaviour = (
  | { mode: 'healthy' }
  | { mode: 'crash-after'; ms: number }
  | { mode: 'camera-dead' }
  | { mode: 'camera-dies-after'; ms: number }
  | { mode: 'never-listens' }
  /** Crashes after `ms` on a terminal whose environment has DOORWAY_TEST_QUIRK (one board revision). */
  | { mode: 'crash-on-quirk'; ms: number }
) & {
  /** Persons whose templates are of another model than this runtime's (default 0). */
  reenrolment?: number;
};

/** The stand-in terminal: a plain Node program, no dependency, as a runtime's bin/doorway.js. */
export const STAND_IN = `#!/usr/bin/env node
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const behaviour = JSON.parse(fs.readFileSync(path.join(root, 'behaviour.json'), 'utf8'));
const port = Number(process.env.DOORWAY_TEST_HEALTH_PORT);
const started = Date.now();
const doorFile = process.env.DOORWAY_TEST_DOOR_FILE;
const door = () => {
  try { return JSON.parse(fs.readFileSync(doorFile, 'utf8')); } catch { return { lock: 'locked', doorOpen: false, passage: false }; }
};
if (behaviour.mode === 'crash-after') setTimeout(() => { console.error('stand-in ' + version + ': crashing'); process.exit(3); }, behaviour.ms);
if (behaviour.mode === 'crash-on-quirk' && process.env.DOORWAY_TEST_QUIRK) setTimeout(() => { console.error('stand-in ' + version + ': crashing on this board'); process.exit(3); }, behaviour.ms);
if (behaviour.mode === 'never-listens') { setInterval(() => {}, 1000); return; }
const server = http.createServer((req, res) => {
  if (req.url !== '/healthz') { res.writeHead(404).end(); return; }
  const camera = behaviour.mode !== 'camera-dead' && !(behaviour.mode === 'camera-dies-after' && Date.now() - started >= behaviour.ms);
  const checks = { loopRunning: true, cameraFresh: camera, modelsLoaded: true, rosterLoaded: true, lockOk: true, hubConnected: true };
  const ok = Object.values(checks).every(Boolean);
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, ...checks, door: door(), reenrolment: behaviour.reenrolment || 0, version, arch: process.arch }));
});
server.listen(port, '127.0.0.1', () => console.error('stand-in ' + version + ' listening on ' + port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export interface TreeOptions {
  version: string;
  behaviour?: Behaviour;
  /** Extra files (path -> content). */
  files?: Record<string, string | Buffer>;
}

/** The model manifest with another embedding model id (a runtime that needs templates of its own). */
export function modelManifestWithEmbed(id: string): string {
  const m = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as { models: { role: string; id: string }[] };
  for (const e of m.models) if (e.role === 'embed') e.id = id;
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** A built runtime folder as `provision update build --from` expects it. */
export function runtimeTree(dir: string, o: TreeOptions): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'models'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', 'left-pad'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'doorway', version: o.version, private: true }, null, 2)}\n`);
  writeFileSync(join(dir, 'bin', 'doorway.js'), STAND_IN, { mode: 0o755 });
  writeFileSync(join(dir, 'behaviour.json'), JSON.stringify(o.behaviour ?? { mode: 'healthy' }));
  copyFileSync(MANIFEST_PATH, join(dir, 'dist', 'models', 'manifest.json'));
  writeFileSync(join(dir, 'dist', 'runtime.js'), `// runtime ${o.version}\n${'x'.repeat(20_000)}\n`);
  writeFileSync(join(dir, 'node_modules', 'left-pad', 'index.js'), 'module.exports = (s) => s;\n');
  for (const [p, content] of Object.entries(o.files ?? {})) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

/** Every path under `root` with its kind and content digest (symlinks by target): equal means unchanged. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const full = rel ? join(root, rel) : root;
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[rel || '.'] = `dir ${(st.mode & 0o777).toString(8)}`;
      for (const n of readdirSync(full).sort()) walk(rel ? `${rel}/${n}` : n);
    } else out[rel] = `file ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
  };
  if (existsSync(root)) walk('');
  return out;
}

/**
 * Rewrites a bundle's outer entries (manifest.json, update-key.json, payload.tar.gz) through `mutate`,
 * keeping their order: for bundles that were tampered with after signing.
 */
export async function rewriteBundle(src: string, dest: string, mutate: (entries: Map<string, Buffer>) => void): Promise<string> {
  const { list, create } = await import('tar');
  const entries = new Map<string, Buffer>();
  const order: string[] = [];
  await list({
    file: src,
    onReadEntry: (e) => {
      const parts: Buffer[] = [];
      order.push(e.path);
      e.on('data', (d: Buffer) => parts.push(d));
      e.on('end', () => entries.set(e.path, Buffer.concat(parts)));
    },
  });
  mutate(entries);
  const work = tempDir('rewrite');
  const names = order.filter((n) => entries.has(n)).concat([...entries.keys()].filter((n) => !order.includes(n)));
  for (const n of names) writeFileSync(join(work, n), entries.get(n) ?? Buffer.alloc(0));
  await create({ file: dest, cwd: work, portable: true }, names);
  return dest;
}

/** A signed envelope's body changed without signing it again. */
export function editSignedBody(envelopeJson: Buffer, edit: (body: Record<string, unknown>) => void): Buffer {
  const env = JSON.parse(envelopeJson.toString()) as { v: number; body: string; sig: string };
  const body = JSON.parse(env.body) as Record<string, unknown>;
  edit(body);
  return Buffer.from(JSON.stringify({ ...env, body: JSON.stringify(body) }));
}

/** A stand-in terminal supervised like a systemd unit: `node ROOT/current/bin/doorway.js`, restarted on exit. */
export function standInService(root: string, o: { port: number; doorFile: string; quirk?: boolean }): ProcessServiceManager {
  const env: NodeJS.ProcessEnv = { ...process.env, DOORWAY_TEST_HEALTH_PORT: String(o.port), DOORWAY_TEST_DOOR_FILE: o.doorFile };
  if (o.quirk) env['DOORWAY_TEST_QUIRK'] = '1';
  else delete env['DOORWAY_TEST_QUIRK'];
  return new ProcessServiceManager(() => ({ file: process.execPath, args: [join(root, 'current', 'bin', 'doorway.js')], env }), new SystemClock(), { restartMs: 200, stopTimeoutMs: scaled(3000) });
}

/** Writes the door activity a stand-in reports. */
export function setDoor(file: string, door: { lock: string; doorOpen: boolean; passage: boolean }): void {
  writeFileSync(file, JSON.stringify(door));
}

export const IDLE_DOOR = { lock: 'locked', doorOpen: false, passage: false };

/** Polls the stand-in's /healthz until it answers (its version and CPU), or fails after `ms`. */
export async function standInAnswer(port: number, ms: number): Promise<{ version: string; arch: string; ok: boolean }> {
  for (let waited = 0; ; waited += 100) {
    try {
      const r = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { version: string; arch: string; ok: boolean };
      return r;
    } catch {
      if (waited > ms) throw new Error(`no stand-in answered on port ${port} within ${ms} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}
