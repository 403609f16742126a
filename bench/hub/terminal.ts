/**
 * The door side of `npm run bench:hub`, in a process of its own: a terminal started from its bundle
 * (`provision terminal add`) with the terminal's own real parts (runtime/main.ts `realParts`: the sync
 * file, the encrypted roster, the 1:N matcher that follows it, the MQTT link with the bundle's
 * certificate and the pinned hub key) and the SyncClient wired as the Terminal wires it
 * (./sync-terminal.ts, shared with bench:community); no camera, no models, no GPIO. It tells the bench over IPC (Node's channel):
 *   { type: 'roster', version, kind, templates }     after every roster version applied
 *   { type: 'seen', id, at }                           when a person the bench asked about with
 *                                                      { type: 'watch', id } is in the encrypted roster
 *                                                      (and so in the matcher); `at` = wall clock in ms
 *                                                      with sub-ms resolution, taken here at the terminal
 * Usage (by bench/hub.ts): node --import tsx bench/hub/terminal.ts BUNDLE/terminal.json
 */
import { SystemClock } from '../../core/clock';
import { createLogger } from '../../core/log';
import { openSyncTerminal } from './sync-terminal';

const configFile = process.argv[2];
if (!configFile || !process.send) throw new Error('usage: started by bench/hub.ts with an IPC channel and the terminal.json path');
const send = (m: unknown): void => void process.send?.(m);
const wallNow = (): number => performance.timeOrigin + performance.now();

const clock = new SystemClock();
const log = createLogger({ level: 'warn' }).child({ module: 'bench-terminal' });
const t = openSyncTerminal(configFile, { clock, log, matcher: true, software: 'bench-hub' });
const { sync, roster } = t;
const matcher = t.matcher;
if (!matcher) throw new Error('no matcher');

const watched = new Set<string>();
const look = (): void => {
  for (const id of watched) {
    if (roster.getPerson(id)?.status !== 'active') continue;
    watched.delete(id);
    send({ type: 'seen', id, at: wallNow() });
  }
};
sync.on('roster-applied', (a) => {
  look();
  send({ type: 'roster', version: a.version, kind: a.kind, templates: matcher.size });
});
process.on('message', (m: { type: string; id?: string }) => {
  if (m.type === 'watch' && m.id) {
    watched.add(m.id);
    look();
  }
});
const stop = async (): Promise<void> => {
  await t.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('disconnect', () => void stop());
sync.start();
