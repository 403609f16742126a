import WebSocket from 'ws';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { PreviewRelay, previewConfigSchema } from '../../../drivers/camera';
import { RtspTestServer } from '../../harness/rtsp';
import { alive } from './wait';

describe('PreviewRelay', () => {
  it('is off by default and binds to loopback unless configured otherwise', () => {
    const c = previewConfigSchema.parse({});
    expect(c.enabled).toBe(false);
    expect(c.host).toBe('127.0.0.1');
  });

  it('relays the camera as MPEG1 in MPEG-TS over a loopback WebSocket, and stop() ends ffmpeg', async () => {
    const server = await RtspTestServer.start({ source: 'pattern', width: 320, height: 240 });
    const relay = new PreviewRelay(server.url, previewConfigSchema.parse({ port: 0, width: 320, height: 240 }), {
      clock: new SystemClock(),
      logger: silentLogger(),
    });
    try {
      const { host, port } = await relay.start();
      expect(host).toBe('127.0.0.1');
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      const messages: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.on('message', (data: Buffer) => {
          messages.push(data);
          if (messages.length >= 2) resolve();
        });
        ws.on('error', reject);
        setTimeout(() => reject(new Error('no preview data within 20 s')), 20_000);
      });
      ws.close();
      const header = messages[0] ?? Buffer.alloc(0);
      expect(header.subarray(0, 4).toString('ascii')).toBe('jsmp');
      expect([header.readUInt16BE(4), header.readUInt16BE(6)]).toEqual([320, 240]);
      expect(messages[1]?.[0]).toBe(0x47); // MPEG-TS sync byte
      const pid = relay.pid;
      expect(pid).not.toBeNull();
      await relay.stop();
      expect(alive(pid ?? -1)).toBe(false);
      expect(relay.running).toBe(false);
    } finally {
      await relay.stop();
      await server.stop();
    }
  });
});
