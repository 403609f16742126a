/**
 * The mosquitto broker of a community: its configuration generated from the terminal list (mutual TLS,
 * the certificate CN as user name and as client id, the CA's CRL, an ACL confining each active
 * terminal to its own topics, a packet size limit and bounded per-client queues), and a small process
 * runner for `provision broker run` and tests.
 *
 * Revoking a terminal rewrites the CRL and the ACL and asks every running broker on this
 * configuration to reload (provisioning/broker-reload.ts: found by its pid file or in /proc, however
 * it was started, plus an optional reload hook); mosquitto re-reads both on SIGHUP. A revoked
 * terminal's next TLS handshake is refused, and its existing connection can no longer read or write
 * anything (not in the ACL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { InvalidInputError, TerminalError } from '../core/errors';
import { ensurePrivateDir, removeInside, withPrivateUmask, writePrivateFile } from '../core/fs';
import { programPath } from '../core/programs';
import { MAX_PACKET_BYTES } from '../runtime/protocol/limits';
import { aclRules, mosquittoAclText } from './broker-acl';
import { reloadBrokers } from './broker-reload';
import type { Community } from './community';
import type { Clock } from '../core/clock';

export class BrokerError extends TerminalError {
  readonly code = 'broker';
}

export interface BrokerConfigOptions {
  /** Interface to listen on (default: every interface). */
  listenHost?: string;
  /** User mosquitto runs as; it must read the broker key (default: the current user). */
  user?: string;
}

export interface BrokerFiles {
  conf: string;
  acl: string;
  /** Written by mosquitto itself (`pid_file`), whoever starts it on this configuration. */
  pidFile: string;
  port: number;
}

/**
 * Per-client bounds, the same in both brokers (mosquitto here, the in-process broker in
 * provisioning/inproc-broker.ts). Packets: the protocol's limit (runtime/protocol/limits.ts: the
 * largest legitimate message is a 1 MiB snapshot chunk or delta). Queues (QoS 1 messages waiting for
 * one client beyond those in flight): 1000 messages or 32 MiB, whichever comes first: hours of roster
 * deltas (a few KB each) for a terminal that is offline, or 32 snapshot chunks for one being sent a
 * snapshot. In flight: 20 messages or 8 MiB. A client's queue at its bound drops further messages;
 * the protocol recovers: snapshots go out in windows of 16 chunks (SNAPSHOT_WINDOW_CHUNKS) that fit,
 * a terminal asks for a sync after every reconnect, missing snapshot chunks are asked for again,
 * unacknowledged events are sent again. So the broker holds at most about 40 MiB for
 * any one client, however long it stays away or however slowly it reads.
 */
export const BROKER_LIMITS = {
  maxPacketBytes: MAX_PACKET_BYTES,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 32 * 1024 * 1024,
  maxInflightMessages: 20,
  maxInflightBytes: 8 * 1024 * 1024,
} as const;

/**
 * Why the broker keeps nothing on disk (`persistence false`; issue 16 item 2). With persistence,
 * mosquitto writes every queued message and retained status to `data/mosquitto.db` at its autosave
 * and when it stops: roster deltas queued for an offline terminal (templates and labels, in clear
 * until roster payloads are encrypted per terminal, and even then a copy of an erased person that no
 * erasure reaches), events queued for the hub (entries naming residents). Nothing in the protocol
 * needs it: every client subscribes again on each connection; a terminal asks for a roster sync after
 * every reconnect (deltas or a snapshot); events stay in the terminal's outbox until the hub
 * acknowledges them; commands live 30 s and a broker restart outlasts them; statuses are published
 * again at connect (the hub keeps the last one in hub.db). What remains: while the broker runs, the
 * messages queued for an offline terminal are held in its memory (at most BROKER_LIMITS per client)
 * until delivered, and are delivered in order, so a revoked person's deltas reach that terminal
 * followed by their tombstone.
 */
export const BROKER_PERSISTENCE = false;

/**
 * The mosquitto options that bind a connection to its certificate and bound what one client can cost,
 * shared by the generated configuration and the test harness's broker:
 * - `use_identity_as_username`: the certificate CN is the user the ACL knows;
 * - `use_username_as_clientid`: ...and the client id, whatever the client asked for, so a terminal
 *   cannot take over the hub's session (or another terminal's) by connecting with its client id;
 * - the packet size limit (a larger packet disconnects its sender before it is read) and the queues.
 * The identity options belong to the TLS listener: these lines go after its `listener` line.
 */
export function mosquittoIdentityAndLimits(): string[] {
  const l = BROKER_LIMITS;
  return [
    'use_identity_as_username true',
    'use_username_as_clientid true',
    `max_packet_size ${l.maxPacketBytes}`,
    `max_queued_messages ${l.maxQueuedMessages}`,
    `max_queued_bytes ${l.maxQueuedBytes}`,
    `max_inflight_messages ${l.maxInflightMessages}`,
    `max_inflight_bytes ${l.maxInflightBytes}`,
  ];
}

export function brokerPort(c: Community): number {
  return Number(/:(\d+)$/.exec(c.config.brokerUrl)?.[1] ?? 8883);
}

/** The ACL text for the current terminal list: hub everything, each active terminal its own topics (./broker-acl.ts). */
export function aclText(c: Community): string {
  return mosquittoAclText(aclRules(c.db.terminals()));
}

/**
 * The listen address and user become lines of mosquitto.conf: a host name or IP address and a POSIX
 * user name only (no space, no line break that would add a directive of its own).
 */
const ListenHostSchema = z.string().regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|[0-9A-Fa-f:.]{2,45})$/, 'a host name or an IP address');
const SystemUserSchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/, 'a user name of this system');

export function checkBrokerOptions(opts: BrokerConfigOptions): void {
  const problems = [
    ...(opts.listenHost !== undefined && !ListenHostSchema.safeParse(opts.listenHost).success ? ['listen: a host name or an IP address'] : []),
    ...(opts.user !== undefined && !SystemUserSchema.safeParse(opts.user).success ? ['user: a user name of this system'] : []),
  ];
  if (problems.length > 0) throw new InvalidInputError('broker options', problems);
}

/** Write broker/mosquitto.conf and broker/acl for the current terminal list. */
export function writeBrokerConfig(c: Community, opts: BrokerConfigOptions = {}): BrokerFiles {
  checkBrokerOptions(opts);
  const dir = c.paths.brokerDir;
  ensurePrivateDir(join(dir, 'data'));
  // A persistence file from a configuration before BROKER_PERSISTENCE held queued roster deltas in clear.
  const old = join(dir, 'data', 'mosquitto.db');
  if (existsSync(old)) removeInside(dir, old);
  const port = brokerPort(c);
  const files: BrokerFiles = { conf: join(dir, 'mosquitto.conf'), acl: join(dir, 'acl'), pidFile: join(dir, 'mosquitto.pid'), port };
  writePrivateFile(files.acl, aclText(c));
  writePrivateFile(
    files.conf,
    [
      '# Generated by provision: mutual TLS, identity (user and client id) from the certificate CN, CRL,',
      '# per-terminal ACL, bounded packets and queues. Send SIGHUP after the CRL or ACL changes.',
      'per_listener_settings false',
      'allow_anonymous false',
      // No persistence (see BROKER_PERSISTENCE): queued messages live in the broker's memory only.
      `persistence ${BROKER_PERSISTENCE}`,
      `pid_file ${files.pidFile}`,
      `user ${opts.user ?? userInfo().username}`,
      'set_tcp_nodelay true',
      `log_dest file ${join(dir, 'mosquitto.log')}`,
      opts.listenHost ? `listener ${port} ${opts.listenHost}` : `listener ${port}`,
      `cafile ${c.paths.ca.cert}`,
      `certfile ${c.paths.brokerCert}`,
      `keyfile ${c.paths.brokerKey}`,
      `crlfile ${c.paths.ca.crl}`,
      'require_certificate true',
      ...mosquittoIdentityAndLimits(),
      `acl_file ${files.acl}`,
      '',
    ].join('\n'),
  );
  return files;
}

/**
 * Rewrite the ACL (if the broker config exists) and ask every running broker on this configuration to
 * re-read it and the CRL, however it was started (see provisioning/broker-reload.ts).
 */
export function refreshBroker(c: Community): 'reloaded' | 'not-running' {
  const acl = join(c.paths.brokerDir, 'acl');
  if (existsSync(acl)) writePrivateFile(acl, aclText(c));
  return reloadBrokers(c).reached.length > 0 ? 'reloaded' : 'not-running';
}

/** mosquitto running on the generated configuration (for `provision broker run`, the demo and tests). */
export class BrokerProcess {
  private proc: ChildProcess | null = null;
  private stderr = '';

  constructor(
    private readonly community: Community,
    private readonly opts: BrokerConfigOptions & { clock: Clock },
  ) {}

  get files(): BrokerFiles {
    return writeBrokerConfig(this.community, this.opts);
  }

  async start(timeoutMs = 10_000): Promise<void> {
    if (this.proc) return;
    const files = this.files;
    // Under umask 077: its persistence file (retained rosters), log and pid file are 0600 from creation.
    const p = withPrivateUmask(() => spawn(programPath('mosquitto'), ['-c', files.conf], { stdio: ['ignore', 'ignore', 'pipe'] }));
    this.proc = p;
    p.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    p.on('exit', () => {
      if (this.proc === p) this.proc = null;
    });
    const host = this.opts.listenHost && this.opts.listenHost !== '0.0.0.0' ? this.opts.listenHost : '127.0.0.1';
    const clock = this.opts.clock;
    const deadline = clock.monotonic() + timeoutMs;
    while (!(await canConnect(host, files.port))) {
      if (this.proc !== p) throw new BrokerError(`mosquitto exited: ${this.stderr.trim()}`);
      if (clock.monotonic() > deadline) throw new BrokerError('mosquitto did not start listening');
      await new Promise<void>((r) => clock.setTimeout(r, 20));
    }
  }

  pid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** SIGHUP: re-read the ACL and CRL. */
  reload(): void {
    writeBrokerConfig(this.community, this.opts);
    this.proc?.kill('SIGHUP');
  }

  /** Resolves when mosquitto has exited. */
  exited(): Promise<void> {
    const p = this.proc;
    return p ? new Promise((r) => p.once('exit', () => r())) : Promise.resolve();
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    const done = this.exited();
    p.kill('SIGTERM');
    await done;
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
