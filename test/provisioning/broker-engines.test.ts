/**
 * The clustered brokers' configuration (provisioning/broker-engines.ts) from the same terminal list and
 * ACL rules as mosquitto's: each generated ACL is read back into (user, access, topic) grants and
 * compared with mosquitto's ACL file, terminal by terminal, on a real community with active and
 * revoked terminals.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../core/errors';
import { aclText, addTerminal, initCommunity, revokeTerminal, type Community } from '../../provisioning';
import { aclRules, mosquittoAclText } from '../../provisioning/broker-acl';
import { emqxAclText, engineFiles, writeEngineConfig } from '../../provisioning/broker-engines';
import { admin } from '../harness/admin';

const PASS = 'engines-test-pass';
let root: string;
let c: Community;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-engines-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, brokerUrl: 'mqtts://10.0.0.5:8883', timeZone: 'Asia/Shanghai', actor: 'it', now: Date.now() });
  for (const [id, door] of [['gate-1-t1', 'gate-1'], ['t-b-001', 'd-b-001'], ['t-b-002', 'd-b-002']] as const) {
    addTerminal(admin(c, { passphrase: PASS }), { id, doorId: door, out: join(root, id) });
  }
  revokeTerminal(admin(c, { passphrase: PASS }), { id: 't-b-002' });
}, 60_000);

afterAll(() => c.close());

type Grant = string; // "user access topic"

/** mosquitto's ACL file (and VerneMQ's vmq_acl) read back: every `topic` line under its `user`. */
function mosquittoGrants(text: string): Grant[] {
  const out: Grant[] = [];
  let user: string | null = null;
  for (const line of text.split('\n')) {
    const u = /^user (\S+)$/.exec(line);
    if (u) user = u[1] ?? null;
    const t = /^topic (read|write|readwrite) (\S+)$/.exec(line);
    if (t) out.push(`${user ?? '(none)'} ${t[1]} ${t[2]}`);
    if (line === '') user = null;
  }
  return out.sort();
}

/** EMQX's acl.conf read back into mosquitto's terms (subscribe = read, publish = write, all = readwrite). */
function emqxGrants(text: string): Grant[] {
  const access: Record<string, string> = { subscribe: 'read', publish: 'write', all: 'readwrite' };
  const out: Grant[] = [];
  for (const line of text.split('\n')) {
    const m = /^\{allow, \{user, "([^"]+)"\}, (subscribe|publish|all), \[(.*)\]\}\.$/.exec(line);
    if (!m) continue;
    for (const topic of (m[3] ?? '').split(', ')) out.push(`${m[1]} ${access[m[2] ?? '']} ${JSON.parse(topic) as string}`);
  }
  return out.sort();
}

describe('broker configuration for a clustered engine', () => {
  it("gives EMQX the grants of mosquitto's ACL, terminal by terminal, and nothing to a revoked terminal", () => {
    const mosquitto = mosquittoGrants(aclText(c));
    const emqx = emqxGrants(emqxAclText(aclRules(c.db.terminals())));
    expect(emqx).toEqual(mosquitto);
    for (const id of ['gate-1-t1', 't-b-001']) {
      expect(emqx.filter((g) => g.startsWith(`${id} `))).toEqual([`${id} read hub/${id}/#`, `${id} read hub/roster/all`, `${id} write door/${id}/#`].sort());
    }
    expect(emqx.filter((g) => g.startsWith('t-b-002 '))).toEqual([]);
    expect(emqx).toContain('hub readwrite #');
  });

  it('ends the EMQX ACL with a deny of everything else, and denies what matches no rule', () => {
    const [conf, acl] = engineFiles('emqx', c).map((f) => f.text);
    expect(acl?.trimEnd().split('\n').at(-1)).toBe('{deny, all}.');
    for (const line of ['verify = verify_peer', 'fail_if_no_peer_cert = true', 'peer_cert_as_username = cn', 'peer_cert_as_clientid = cn', 'no_match = deny', `cacertfile = "${c.paths.ca.cert}"`, 'bind = "0.0.0.0:8883"']) {
      expect(conf).toContain(line);
    }
  });

  it("gives VerneMQ mosquitto's ACL file as it is, its CRL, and the CN as user name and client id", () => {
    const files = Object.fromEntries(engineFiles('vernemq', c).map((f) => [f.name, f.text]));
    expect(files['vmq.acl']).toBe(aclText(c));
    expect(mosquittoGrants(files['vmq.acl'] ?? '')).toEqual(mosquittoGrants(mosquittoAclText(aclRules(c.db.terminals()))));
    for (const line of ['listener.ssl.require_certificate = on', 'listener.ssl.use_identity_as_username = on', `listener.ssl.crlfile = ${c.paths.ca.crl}`, 'allow_anonymous = off', 'plugins.vmq_passwd = off']) {
      expect(files['vernemq.conf']).toContain(line);
    }
    expect(files['identity.lua']).toContain('reg.client_id == reg.username');
  });

  it('writes the files 0600 into the folder asked for, and refuses a listen address that would add a line', () => {
    const out = join(root, 'emqx');
    const written = writeEngineConfig('emqx', c, out, { listenHost: '127.0.0.1' });
    expect(written.map((p) => p.slice(out.length + 1)).sort()).toEqual(['acl.conf', 'emqx.conf']);
    for (const p of written) expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'emqx.conf'), 'utf8')).toContain('bind = "127.0.0.1:8883"');
    expect(() => engineFiles('vernemq', c, { listenHost: '0.0.0.0\nallow_anonymous = on' })).toThrow(InvalidInputError);
  });
});
