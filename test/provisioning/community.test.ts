/**
 * A community folder and its terminals without a broker: keys, certificates, bundles, CRL and ACL.
 */
import { execFileSync } from 'node:child_process';
import { programPath } from '../../core/programs';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../runtime/config';
import { aclText, addTerminal, Community, initCommunity, revokeTerminal, writeBrokerConfig } from '../../provisioning';
import { BadPassphraseError, revokedSerials } from '../../provisioning/pki';
import { admin } from '../harness/admin';

const PASS = 'community-test-pass';
let root: string;
let c: Community;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-community-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, brokerUrl: 'mqtts://10.0.0.5:8883', timeZone: 'Asia/Shanghai', actor: 'it', now: Date.now() });
}, 30_000);

afterAll(() => c.close());

function subject(certFile: string): string {
  return execFileSync(programPath('openssl'), ['x509', '-in', certFile, '-noout', '-subject']).toString().trim();
}

describe('provision init', () => {
  it('writes every private key and the hub database 0600, and the community keys encrypted', () => {
    for (const f of [c.paths.ca.key, c.paths.signingKey, c.paths.hubTlsKey, c.paths.brokerKey, c.paths.hubDb]) {
      expect(statSync(f).mode & 0o777).toBe(0o600);
    }
    for (const f of [c.paths.ca.key, c.paths.signingKey, c.paths.hubTlsKey]) {
      expect(readFileSync(f, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    }
    expect(() => c.checkPassphrase('wrong-passphrase')).toThrow(BadPassphraseError);
    expect(c.signingKey(PASS).asymmetricKeyType).toBe('ed25519');
  });

  it('refuses to overwrite an existing community', () => {
    expect(() => initCommunity({ dir: c.paths.dir, passphrase: PASS, now: Date.now(), actor: 'test-operator' })).toThrow(/already holds a community/);
  });

  it('issues a broker certificate for the broker host, signed by the community CA', () => {
    const text = execFileSync(programPath('openssl'), ['x509', '-in', c.paths.brokerCert, '-noout', '-ext', 'subjectAltName']).toString();
    expect(text).toMatch(/IP Address:10\.0\.0\.5/);
    expect(execFileSync(programPath('openssl'), ['verify', '-CAfile', c.paths.ca.cert, c.paths.brokerCert]).toString()).toMatch(/OK/);
  });
});

describe('provision terminal add / revoke', () => {
  it('writes a bundle the terminal accepts: its own certificate, the pinned hub key, a fresh device secret', () => {
    const b = addTerminal(admin(c, { passphrase: PASS }), { id: 'gate-3', doorId: 'gate-3', buildingId: 'b-7', out: join(root, 'gate-3') });
    const b2 = addTerminal(admin(c, { passphrase: PASS }), { id: 'gate-4', doorId: 'gate-4', out: join(root, 'gate-4') });
    const config = loadConfig(b.configFile);
    expect(config.terminalId).toBe('gate-3');
    expect(config.door).toMatchObject({ doorId: 'gate-3', buildingId: 'b-7', timeZone: 'Asia/Shanghai' });
    expect(config.hub?.url).toBe('mqtts://10.0.0.5:8883');
    expect(subject(config.hub?.certFile ?? '')).toBe('subject=CN = gate-3');
    expect(execFileSync(programPath('openssl'), ['verify', '-CAfile', config.hub?.caFile ?? '', config.hub?.certFile ?? '']).toString()).toMatch(/OK/);
    expect(readFileSync(config.hub?.hubPublicKeyFile ?? '', 'utf8')).toBe(readFileSync(c.paths.signingPub, 'utf8'));
    expect(statSync(config.paths.secretFile).mode & 0o777).toBe(0o600);
    expect(statSync(config.hub?.keyFile ?? '').mode & 0o777).toBe(0o600);
    expect(readFileSync(config.paths.secretFile)).not.toEqual(readFileSync(loadConfig(b2.configFile).paths.secretFile));
    // Its roster key: 32 bytes, 0600, the one the hub keeps for it, another terminal's another.
    const rosterKey = readFileSync(config.hub?.rosterKeyFile ?? '');
    expect(rosterKey).toHaveLength(32);
    expect(statSync(config.hub?.rosterKeyFile ?? '').mode & 0o777).toBe(0o600);
    expect(rosterKey).toEqual(c.db.rosterKey('gate-3'));
    expect(rosterKey).not.toEqual(readFileSync(loadConfig(b2.configFile).hub?.rosterKeyFile ?? ''));
  });

  it('refuses a duplicate id, a reserved id, a non-empty folder and a wrong passphrase', () => {
    expect(() => addTerminal(admin(c, { passphrase: PASS }), { id: 'gate-3', doorId: 'x', out: join(root, 'dup') })).toThrow(/already exists/);
    expect(() => addTerminal(admin(c, { passphrase: PASS }), { id: 'hub', doorId: 'x', out: join(root, 'hub') })).toThrow(/reserved/);
    expect(() => addTerminal(admin(c, { passphrase: PASS }), { id: 'Bad/Id', doorId: 'x', out: join(root, 'bad') })).toThrow(/terminal id/);
    expect(() => addTerminal(admin(c, { passphrase: PASS }), { id: 'gate-9', doorId: 'x', out: join(root, 'gate-3') })).toThrow(/not empty/);
    expect(() => addTerminal(admin(c, { passphrase: 'nope-nope-nope' }), { id: 'gate-9', doorId: 'x', out: join(root, 'gate-9') })).toThrow(BadPassphraseError);
  });

  it('confines each active terminal to its own topics in the generated ACL', () => {
    const acl = aclText(c);
    expect(acl).toContain('user gate-3\ntopic read hub/gate-3/#\ntopic read hub/roster/all\ntopic write door/gate-3/#');
    expect(acl).not.toMatch(/^pattern/m);
    const files = writeBrokerConfig(c, { listenHost: '127.0.0.1' });
    const conf = readFileSync(files.conf, 'utf8');
    for (const line of ['require_certificate true', 'use_identity_as_username true', `crlfile ${c.paths.ca.crl}`, `acl_file ${files.acl}`, 'allow_anonymous false', 'listener 8883 127.0.0.1']) {
      expect(conf).toContain(line);
    }
  });

  it('revokes: the serial goes on the CRL, the terminal leaves the ACL and is listed as revoked', () => {
    const serial = c.db.terminal('gate-4')?.serial;
    expect(revokedSerials(c.paths.ca)).not.toContain(serial);
    revokeTerminal(admin(c, { passphrase: PASS, actor: 'it' }), { id: 'gate-4' });
    revokeTerminal(admin(c, { passphrase: PASS, actor: 'it' }), { id: 'gate-4' }); // idempotent
    expect(revokedSerials(c.paths.ca)).toEqual([serial]);
    expect(aclText(c)).not.toContain('user gate-4');
    expect(aclText(c)).toContain('user gate-3\ntopic read hub/gate-3/#'); // the others stay
    expect(c.db.terminal('gate-4')?.status).toBe('revoked');
    expect(c.db.auditLog().filter((a) => a.action === 'terminal.revoke').map((a) => `${a.actor} ${a.subject}`)).toEqual(['it gate-4']);
  });
});
