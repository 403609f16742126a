/** The redaction net under every log line: credentials and identity data never reach a log. */
import { Writable } from 'node:stream';
import { createLogger } from '../../core/log';

function logged(obj: Record<string, unknown>): Promise<string> {
  let out = '';
  const destination = new Writable({
    write(c: Buffer, _e, cb): void {
      out += c.toString();
      cb();
    },
  });
  createLogger({ destination, level: 'info' }).info(obj, 'line');
  return new Promise((r) => setImmediate(() => r(out)));
}

describe('the log', () => {
  it('redacts passwords, session and CSRF tokens, cookies, authorization headers, identity numbers and request bodies', async () => {
    const line = await logged({
      password: 'pw-secret-1',
      change: { current: 'pw-secret-2', next: 'pw-secret-3' },
      csrfToken: 'csrf-secret',
      req: { headers: { authorization: 'Bearer dwt_secret', cookie: '__Host-doorway-session=sid-secret', 'x-csrf-token': 'hdr-secret' } },
      registration: { idNumber: '110101199003074512', photos: ['b64-secret'] },
      body: { name: '王小明' },
      operator: 'mgr-1',
    });
    for (const secret of ['pw-secret', 'csrf-secret', 'dwt_secret', 'sid-secret', 'hdr-secret', '110101199003074512', 'b64-secret', '王小明']) expect(line).not.toContain(secret);
    expect(line).toContain('mgr-1');
  });
});
