/**
 * Builds a terminal's local state for site tests and the demo: a data folder with a device secret
 * (0600), a roster with residents enrolled from registry photos, and a config object.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FacePipeline } from '../../models/pipeline';
import { parseConfig, type Config } from '../../runtime/config';
import type { LivenessPolicyInput } from '../../runtime/loop/liveness-fusion';
import { silentLogger } from '../../core/log';
import type { PersonUpsert } from '../../runtime/roster/batch';
import { RosterStore } from '../../runtime/roster/store';
import { templatesFromPhotos } from '../../runtime/tools/enrol';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../fixtures/photos';

export interface SiteDir {
  dir: string;
  dataDir: string;
  secretFile: string;
}

export function makeSiteDir(prefix = 'doorway-site-'): SiteDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const secretFile = join(dir, 'device.secret');
  writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
  return { dir, dataDir, secretFile };
}

/** Franck enrolled from three stills (the video shows him too). */
/** franck enrolled from three stills; without a pipeline one is loaded for this and closed again. */
export async function franckUpsert(pipeline?: FacePipeline, doors: string[] = ['door-1'], tags: string[] = []): Promise<PersonUpsert> {
  const photos = [0, 1, 10].map((i) => testFile(FRANCK_STILLS[i]!));
  const p = pipeline ?? (await FacePipeline.load());
  try {
    return { personId: 'p-franck', templates: await templatesFromPhotos(p, photos, 'franck'), authorisations: [{ doorIds: doors, buildingIds: [] }], tags };
  } finally {
    if (!pipeline) await p.close();
  }
}

export function writeRoster(site: SiteDir, upserts: PersonUpsert[], revocations: string[] = []): void {
  const store = RosterStore.open({ path: join(site.dataDir, 'roster.db'), secretFile: site.secretFile, logger: silentLogger() });
  try {
    store.applyBatch({ version: store.version() + 1, upserts, revocations });
  } finally {
    store.close();
  }
}

/**
 * Liveness policy for tests of the wiring (doors, roster, hub, lock): live once four frames of a moving
 * face are in, so that these tests do not depend on how well liveness judges a particular clip on a
 * loaded machine. Liveness itself is tested and evaluated on its own (test/runtime/loop,
 * npm run eval:liveness), and one terminal test runs the shipped default policy.
 */
export const WIRING_LIVENESS: LivenessPolicyInput = { preset: 'fast', fastAccept: 0, fastReject: 0, threshold: 0, minMotion: 0, fastPath: 'score' };

export function terminalConfig(
  site: SiteDir,
  overrides: { doorId?: string; video?: string; modelDir?: string; loop?: boolean; liveness?: LivenessPolicyInput } = {},
): Config {
  return parseConfig(
    {
      terminalId: 'site-t1',
      door: { doorId: overrides.doorId ?? 'door-1', buildingId: 'b-1', timeZone: 'Asia/Shanghai' },
      camera: { kind: 'file', input: { kind: 'video', path: overrides.video ?? testFile(FRANCK_VIDEO) }, realtime: true, loop: overrides.loop ?? true },
      gpio: { driver: 'fake', outputs: { lock: { line: 17 } }, inputs: { door: { line: 5, debounceMs: 0 }, exit: { line: 6, debounceMs: 0 }, fire: { line: 13, debounceMs: 0 } } },
      lock: { lockType: 'fail-secure', unlockPulseMs: 2000 },
      pipeline: overrides.modelDir ? { modelDir: overrides.modelDir } : {},
      liveness: overrides.liveness ?? WIRING_LIVENESS,
      paths: { dataDir: site.dataDir, secretFile: site.secretFile },
      health: { port: 0 },
      logging: { level: 'silent' },
    },
    'site-config',
    site.dir,
  );
}

/** `doorway run` started as a child process on a site's config file, logging at info to stderr. */
export interface DoorwayRun {
  /** The config file it runs on (rewrite it to test a reload). */
  file: string;
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr: () => string;
  /** Its exit status. */
  exited: Promise<number | null>;
  /** Settles once it logs that it is running; rejects if it exits first. */
  running: Promise<void>;
}

export function spawnDoorwayRun(site: SiteDir, cfg: Config): DoorwayRun {
  const file = join(site.dir, 'terminal.json');
  writeFileSync(file, JSON.stringify({ ...cfg, logging: { level: 'info' } }));
  const child = spawn(process.execPath, [join(__dirname, '../../bin/doorway.js'), 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const running = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('running; health on')) resolve();
    });
    void exited.then((c) => reject(new Error(`doorway run exited with ${c} before running: ${err.slice(-500)}`)));
  });
  return { file, child, stderr: () => err, exited, running };
}
