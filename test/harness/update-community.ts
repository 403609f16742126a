/**
 * A community with its update key, for the update tests that build bundles (see update.ts), and its
 * terminals as the update tests run them: each provisioned by `provision terminal add` (its own
 * certificate from the community CA, its pinned keys), with its own slot root holding 0.1.0 and a real
 * stand-in terminal process running from ROOT/current (supervised like a systemd unit and restarted by
 * the agent), and its own update agent. Kept apart from update.ts: it opens the hub database, a native
 * addon, and the ARM64 run's native selection follows imports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { addTerminal } from '../../provisioning/admin/terminals';
import { Community, initCommunity } from '../../provisioning/community';
import { freeLoopbackPort } from '../../provisioning/ports';
import { loadConfig, updateStateDir, type Config } from '../../runtime/config';
import type { UpdateAgent } from '../../runtime/update/agent';
import { agentFromConfig } from '../../runtime/update/cli';
import type { ProcessServiceManager } from '../../runtime/update/service';
import { Slots } from '../../runtime/update/slots';
import { admin } from './admin';
import { IDLE_DOOR, runtimeTree, scaled, setDoor, standInService, tempDir } from './update';

export const PASSPHRASE = 'update test passphrase';

/** A new community (CA, roster key) in a temporary folder; its update key is made on first use. */
export function makeCommunity(name = 'update test community', more: { brokerUrl?: string; heartbeatMs?: number } = {}): Community {
  return initCommunity({ dir: join(tempDir('community'), 'c'), passphrase: PASSPHRASE, name, now: Date.now(), actor: 'test-operator', ...more });
}

export interface UpdateTerminal {
  id: string;
  /** The slot root (slots/a, slots/b, current). */
  root: string;
  /** The stand-in's /healthz port. */
  port: number;
  /** The door activity the stand-in reports (setDoor). */
  doorFile: string;
  service: ProcessServiceManager;
  agent: UpdateAgent;
  config: Config;
  /** The agent's state folder (state.json, reports/). */
  stateDir: string;
}

/**
 * Provisions terminal `id` and starts its stand-in on 0.1.0 (not yet answering: standInAnswer waits).
 * `quirk`: the board revision a `crash-on-quirk` bundle crashes on.
 */
export async function updateTerminal(c: Community, id: string, o: { quirk?: boolean } = {}): Promise<UpdateTerminal> {
  const bundle = addTerminal(admin(c, { passphrase: PASSPHRASE }), { id, doorId: `door-${id}`, out: join(tempDir('terminal'), id) });
  const root = tempDir(`root-${id}`);
  new Slots(root).adopt(runtimeTree(tempDir('installed'), { version: '0.1.0' }));
  const port = await freeLoopbackPort();
  const cfg = JSON.parse(readFileSync(bundle.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
  cfg['health'] = { port };
  cfg['update'] = {
    ...cfg['update'],
    root,
    health: { startTimeoutMs: scaled(10_000), windowMs: scaled(2500), pollMs: 100, failAfterProbes: 3 },
    door: { pollMs: 100, idleTimeoutMs: scaled(60_000) },
    download: { attempts: 3, retryMs: 200, idleTimeoutMs: scaled(5000) },
  };
  writeFileSync(bundle.configFile, JSON.stringify(cfg));
  const doorFile = join(tempDir('door'), 'door.json');
  setDoor(doorFile, IDLE_DOOR);
  const service = standInService(root, { port, doorFile, quirk: o.quirk ?? false });
  service.start();
  const config = loadConfig(bundle.configFile);
  const agent = agentFromConfig(config, { service, clock: new SystemClock(), log: silentLogger(), arch: 'arm64' });
  return { id, root, port, doorFile, service, agent, config, stateDir: updateStateDir(config) };
}
