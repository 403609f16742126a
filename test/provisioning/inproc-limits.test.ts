/** The in-process broker's packet size scanner follows MQTT packet boundaries however the bytes arrive. */
import { PacketSizeScanner } from '../../provisioning/inproc-limits';

/** MQTT remaining-length encoding (1 to 4 bytes, 7 bits each, low first). */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A QoS 1 PUBLISH on door/t1/events with a payload of `bytes` bytes. */
function publish(bytes: number): Buffer {
  const topic = Buffer.from('door/t1/events');
  const variable = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0, 7])]);
  return Buffer.concat([Buffer.from([0x32]), remainingLength(variable.length + bytes), variable, Buffer.alloc(bytes, 0x61)]);
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

test('accepts packets up to the limit, in one piece or cut anywhere, and refuses the first one over it', () => {
  const small = [publish(10), publish(200), publish(20_000), PINGREQ];
  const stream = Buffer.concat(small);
  const whole = new PacketSizeScanner(20_100);
  expect(whole.feed(stream)).toBe(true);
  const byteByByte = new PacketSizeScanner(20_100);
  for (let i = 0; i < stream.length; i++) expect(byteByByte.feed(stream.subarray(i, i + 1))).toBe(true);
  const over = new PacketSizeScanner(20_100);
  expect(over.feed(Buffer.concat([stream, publish(20_100)]))).toBe(false);
});

test('refuses a 20 MB publish from its first five bytes, before its body arrives', () => {
  const scanner = new PacketSizeScanner(2 * 1024 * 1024);
  const header = publish(20 * 1024 * 1024).subarray(0, 5);
  expect(scanner.feed(header)).toBe(false);
});
