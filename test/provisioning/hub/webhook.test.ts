/**
 * The hub's webhook against a real HTTP server: three attempts, waits between them on the hub's
 * clock, and stop() ends the waiting.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../../../core/clock';
import { Webhook } from '../../../provisioning/hub/webhook';
import { waitFor } from '../../harness/wait';

let server: Server;
let url: string;
let answers: number[];
let received: unknown[];

beforeEach(async () => {
  answers = [];
  received = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.statusCode = answers.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterEach(async () => {
  await new Promise((r) => server.close(r));
});

test('a refused post is tried again after 0.5 s and then 1 s on the hub\'s clock, and delivered on the third attempt', async () => {
  answers = [500, 503];
  const clock = new FakeClock();
  const hook = new Webhook(url, clock);
  const outcome = hook.post({ kind: 'test', n: 1 });
  await waitFor(() => received.length === 1 && clock.pending() === 1, 5000, 'the first attempt and its wait');
  clock.advance(499);
  expect(received).toHaveLength(1);
  clock.advance(1);
  await waitFor(() => received.length === 2 && clock.pending() === 1, 5000, 'the second attempt and its wait');
  clock.advance(999);
  expect(received).toHaveLength(2);
  clock.advance(1);
  expect(await outcome).toBe('delivered');
  expect(received).toEqual([{ kind: 'test', n: 1 }, { kind: 'test', n: 1 }, { kind: 'test', n: 1 }]);
});

test('three refusals give up with the last status, and stop() ends a wait without another attempt', async () => {
  answers = [500, 500, 502];
  const clock = new FakeClock();
  const hook = new Webhook(url, clock);
  const given = hook.post({ kind: 'a' });
  for (const n of [1, 2]) {
    await waitFor(() => received.length === n && clock.pending() === 1, 5000, `attempt ${n}`);
    clock.advance(500 * n);
  }
  expect(await given).toBe('failed: HTTP 502');

  answers = [500];
  const stopped = hook.post({ kind: 'b' });
  await waitFor(() => received.length === 4 && clock.pending() === 1, 5000, 'the first attempt of the second post');
  await hook.stop();
  expect(await stopped).toBe('failed: HTTP 500');
  expect(received).toHaveLength(4);
  expect(clock.pending()).toBe(0);
});
