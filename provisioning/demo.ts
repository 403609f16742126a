/**
 * `npm start`: a whole community on this machine, live.
 *
 *   1. a community (CA, hub signing key, hub database) in a temporary folder;
 *   2. the MQTT broker inside this process (mutual TLS, per-terminal topic rules) and the hub service;
 *   3. a resident enrolled from three registry stills of franck, allowed at gate-1;
 *   4. two terminals provisioned from their bundles: gate-1 sees franck arriving every 5 s, gate-2 sees
 *      another man who is not enrolled; the doors run the shipped default liveness policy; fake relays
 *      (no GPIO here), everything else real;
 *   5. a third door, door-3, whose camera sees a courier hold up a phone showing a single-use pass the
 *      hub issued for it: the first time the door opens, the second time (the phone shown again 2 s later)
 *      it is refused as used-up;
 *   6. each decision printed as it happens; Ctrl-C stops everything cleanly.
 */
import { mkdtempSync } from 'node:fs';
import { removeInside } from '../core/fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGpio } from '../drivers/gpio/fake';
import { FacePipeline } from '../models/pipeline';
import { SystemClock } from '../core/clock';
import { loadConfig } from '../runtime/config';
import { TerminalError } from '../core/errors';
import { createLogger } from '../core/log';
import { startTerminal, type Terminal, type TerminalNotice } from '../runtime/main';
import { FRANCK_STILLS, OTHER_VIDEOS, testFile } from '../test/fixtures/photos';
import { keyedPassagesClip, passClip, videoPassagesClip } from '../test/harness/clips';
import { addPerson, addTerminal, initCommunity, issuePass, pipelineEnroller, startCommunityHub, type AdminContext } from './index';
import { qrMatrix } from './qr';
import { InProcessBroker } from './inproc-broker';
import { freeLoopbackPort } from './ports';

const PASSPHRASE = 'demo-only-passphrase';
const RUN_SECONDS = Number(process.env['DEMO_SECONDS'] ?? 0); // 0 = until Ctrl-C

function time(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

function printer(door: string): (n: TerminalNotice) => void {
  return (n) => {
    if (n.kind === 'loop' && n.event.type === 'decision') {
      const e = n.event;
      const d = e.decision;
      // a best candidate under the match threshold is nobody: do not print a name for a stranger
      const who = d.kind === 'grant' ? d.personId : d.match && d.reason !== 'unknown' && d.reason !== 'not-live' ? d.match.personId : '-';
      const verdict = d.kind === 'grant' ? 'UNLOCK' : `DENY ${d.reason}`;
      const score = d.match ? d.match.score.toFixed(2) : '-';
      console.log(
        `${time(e.at)}  ${door.padEnd(7)} ${verdict.padEnd(26)} person ${who.padEnd(16)} score ${score}  liveness ${e.liveness.score.toFixed(2)} (${e.liveness.verdict})  ${Math.round(e.latencyMs)} ms`,
      );
    } else if (n.kind === 'loop' && n.event.type === 'error') {
      console.log(`${time(n.event.at)}  ${door.padEnd(7)} ERROR ${n.event.code}: door stays locked`);
    } else if (n.kind === 'pass') {
      const e = n.event;
      const verdict = e.outcome === 'grant' ? 'UNLOCK' : `DENY ${e.reason ?? ''}`;
      console.log(`${time(e.at)}  ${door.padEnd(7)} ${verdict.padEnd(26)} pass   ${(e.passId ?? '-').padEnd(16)} ${e.uses !== null ? `use ${e.uses}` : ''}  ${Math.round(e.latencyMs)} ms`);
    } else if (n.kind === 'access') {
      const e = n.event;
      const verdict = e.outcome === 'grant' ? 'UNLOCK' : `DENY ${e.reason ?? ''}`;
      console.log(`${time(e.at)}  ${door.padEnd(7)} ${verdict.padEnd(26)} ${e.credential.padEnd(6)} ${(e.personId ?? '-').padEnd(16)} ${Math.round(e.latencyMs)} ms`);
    } else if (n.kind === 'status') {
      console.log(`           ${door.padEnd(7)} ${n.message}`);
    }
  };
}

async function main(): Promise<void> {
  const log = createLogger({ level: process.env['DOORWAY_LOG_LEVEL'] ?? 'warn' });
  const dir = mkdtempSync(join(tmpdir(), 'doorway-demo-'));
  console.log(`doorway demo: community in ${dir}`);
  // Ctrl-C reaches this process from the terminal (and again through npm): while starting there is
  // nothing to hand over cleanly, so the folder is removed and the process ends (its ffmpeg children
  // got the same Ctrl-C); once running, one clean stop however many signals come.
  let stop: (() => Promise<void>) | null = null;
  const onSignal = (): void => {
    if (stop) {
      void stop().then(() => process.exit(0));
      return;
    }
    removeInside(tmpdir(), dir);
    console.log('\nstopped while starting');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const port = await freeLoopbackPort();
  const clock = new SystemClock();
  const community = initCommunity({ dir: join(dir, 'community'), passphrase: PASSPHRASE, name: 'Demo Village', brokerUrl: `mqtts://127.0.0.1:${port}`, timeZone: 'Asia/Shanghai', actor: 'demo', now: clock.now() });
  const admin: AdminContext = { clock, actor: 'demo', community, store: community.db, passphrase: PASSPHRASE };
  const broker = new InProcessBroker(community, { port, log, clock });
  await broker.start();
  const hub = await startCommunityHub({ community, passphrase: PASSPHRASE, clock, log });
  console.log(`hub and in-process broker on mqtts://127.0.0.1:${port} (mutual TLS)`);

  const pipeline = await FacePipeline.load();
  const photos = [0, 1, 10].map((i) => testFile(FRANCK_STILLS[i]!));
  await addPerson({ ...admin, enroller: pipelineEnroller(pipeline) }, { id: 'resident-franck', photos, doors: ['gate-1'] });
  await pipeline.close();
  console.log('enrolled resident-franck from 3 photos, allowed at gate-1');

  // door-3's terminal exists before its pass is issued (the hub refuses a pass for a door it does not serve)
  const courierBundle = addTerminal(admin, { id: 'door-3-t1', doorId: 'door-3', out: join(dir, 'bundle-door-3') });
  const pass = issuePass(admin, { doors: ['door-3'], uses: 1, validForMs: 2 * 3600_000, label: 'courier for flat 302' });
  console.log(`issued pass ${pass.record.passId} for door-3: single use, 2 h (QR version ${pass.qr.version}, ${pass.text.length} characters)`);
  // 5 s of wall (the terminal fetches its roster), the phone for 2 s, 2 s away, the phone again for 2 s, 1 s of wall
  const qr = qrMatrix(pass.text);
  const courierClip = await passClip(`demo-${pass.record.passId}`, [
    { frames: 125, qr: null }, { frames: 50, qr }, { frames: 50, qr: null }, { frames: 50, qr }, { frames: 25, qr: null },
  ], 25, dir);

  const doors = [
    // franck was filmed in front of a blue screen; a door camera sees a wall, so it is keyed in (a still
    // textured wall: the liveness fast path needs a background it can see stay still)
    { id: 'gate-1', video: await keyedPassagesClip('plaster', 30, 25, 100), note: 'franck arrives every 5 s (in front of a plaster wall)' },
    { id: 'gate-2', video: videoPassagesClip(testFile(OTHER_VIDEOS[1]!), 15, 4), note: 'a man who is not enrolled arrives every 5 s' },
    { id: 'door-3', video: courierClip, note: 'a courier shows a single-use pass on a phone, twice (every 12 s)' },
  ];
  const terminals: Terminal[] = [];
  for (const d of doors) {
    const bundle = d.id === 'door-3' ? courierBundle : addTerminal(admin, { id: `${d.id}-t1`, doorId: d.id, out: join(dir, `bundle-${d.id}`) });
    const config = loadConfig(bundle.configFile);
    config.camera = { kind: 'file', input: { kind: 'video', path: d.video }, width: 640, height: 480, realtime: true, loop: true, killTimeoutMs: 2000, ffmpegPath: 'ffmpeg' };
    config.gpio = { ...config.gpio, driver: 'fake' };
    config.health.port = 0;
    config.lock.unlockPulseMs = 1500;
    terminals.push(await startTerminal({ config, clock, gpio: new FakeGpio(clock), logger: log, onNotice: printer(d.id) }));
    console.log(`           ${d.id.padEnd(7)} camera: ${d.note}`);
  }
  console.log('\nwatching (Ctrl-C to stop)\n');

  let stopping: Promise<void> | null = null;
  stop = (): Promise<void> =>
    (stopping ??= (async () => {
      console.log('\nstopping: cameras, relays to their safe state, outboxes flushed, hub, broker');
      await Promise.all(terminals.map((t) => t.stop()));
      await hub.stop();
      await broker.stop();
      community.close();
      removeInside(tmpdir(), dir);
      console.log('stopped cleanly');
    })());
  if (RUN_SECONDS > 0) {
    await new Promise((r) => setTimeout(r, RUN_SECONDS * 1000));
    await stop?.();
    process.exit(0);
  }
}

main().catch((e: unknown) => {
  // A known failure (a program or file missing) is one line that says what to do; a bug keeps its stack.
  console.error(`demo failed: ${e instanceof TerminalError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
