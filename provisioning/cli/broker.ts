/**
 * `provision broker config|run|renew`: the MQTT broker's configuration, process and certificate.
 * `config --engine emqx|vernemq --out DIR`: a clustered engine's configuration from the same terminal
 * list and ACL rules (provisioning/broker-engines.ts).
 */
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { SystemClock } from '../../core/clock';
import { parseCli } from '../../runtime/command-line';
import { renewBroker } from '../admin/certificates';
import { BrokerProcess, writeBrokerConfig } from '../broker';
import { CLUSTER_ENGINES, writeEngineConfig } from '../broker-engines';
import { rootContext, common, commonSchema, positionals, readPassphrase, time, withCommunity, type Command } from './common';

export const brokerCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const o = parseCli(`broker ${sub ?? ''}`, rest, { ...common, listen: { type: 'string' }, user: { type: 'string' }, engine: { type: 'string' }, out: { type: 'string' } },
    z.strictObject({ ...commonSchema, listen: z.string().optional(), user: z.string().optional(), engine: z.enum(['mosquitto', ...CLUSTER_ENGINES]).default('mosquitto'), out: z.string().optional() }));
  positionals(`broker ${sub ?? ''}`, o.positionals, 0);
  const opts = { ...(o.listen ? { listenHost: o.listen } : {}), ...(o.user ? { user: o.user } : {}) };
  return withCommunity(o.dir, async (c) => {
    if (sub === 'config' && o.engine !== 'mosquitto') {
      if (!o.out) throw new InvalidInputError('broker config', [`--out DIR is required with --engine ${o.engine}`]);
      const files = writeEngineConfig(o.engine, c, o.out, o.listen ? { listenHost: o.listen } : {});
      io.out(`${o.engine} configuration written: ${files.join(', ')} (same terminal list and ACL rules as mosquitto's; see docs/scaling.md)`);
      return 0;
    }
    if (sub === 'config') {
      const f = writeBrokerConfig(c, opts);
      io.out(`mosquitto configuration written: ${f.conf} (ACL ${f.acl}); run: mosquitto -c ${f.conf}`);
      return 0;
    }
    if (sub === 'renew') {
      const r = renewBroker(rootContext(c, await readPassphrase()));
      io.out(`broker certificate renewed until ${time(r.notAfter)}${r.broker === 'reloaded' ? ', broker reloaded' : ' (no running broker found: restart it)'}`);
      return 0;
    }
    if (sub === 'run') {
      const b = new BrokerProcess(c, { ...opts, clock: new SystemClock() });
      await b.start();
      io.out(`mosquitto running on port ${b.files.port} (pid ${b.pid() ?? '?'}); Ctrl-C stops it`);
      const stop = (): void => void b.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await b.exited();
      return 0;
    }
    throw new InvalidInputError('broker', ['expected config, run or renew']);
  });
};
