/**
 * Runs the in-process broker in a child process for tests: jest's module loader cannot load aedes (an
 * ES module), plain Node can. Usage: tsx inproc-broker-child.ts COMMUNITY_DIR PORT [REFRESH_MS]; prints
 * "ready".
 */
import { Community } from '../../provisioning/community';
import { InProcessBroker } from '../../provisioning/inproc-broker';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';

const [dir, port, refreshMs] = process.argv.slice(2);
const community = Community.open(dir as string);
const broker = new InProcessBroker(community, { port: Number(port), log: silentLogger(), clock: new SystemClock(), ...(refreshMs ? { refreshMs: Number(refreshMs) } : {}) });
broker.start().then(
  () => process.stdout.write('ready\n'),
  (e: unknown) => {
    process.stderr.write(String(e));
    process.exit(1);
  },
);
process.on('SIGTERM', () => {
  void broker.stop().then(() => process.exit(0));
});
