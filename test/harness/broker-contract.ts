/**
 * What both brokers (mosquitto with the generated config, and the in-process one) must do alike, played
 * against either through its own `connect(user, clientId)`.
 */
import type { MqttClient } from 'mqtt';
import { sleep, waitFor } from './wait';

/** A function that says whether the client's connection has closed since it was called. */
export function closed(m: MqttClient): () => boolean {
  let gone = false;
  m.on('close', () => (gone = true));
  return () => gone;
}

/**
 * The hub sends t1 the largest legitimate message (a snapshot chunk cut at 1 MiB, see
 * test/runtime/protocol/limits), t1 then publishes 20 MB on its event topic and must be disconnected,
 * and the same path must still carry a normal event from t1 reconnected. Returns what t1 received and
 * what reached the hub, for the caller to assert.
 */
export async function oversizePublish(connect: (user: string, clientId: string) => Promise<MqttClient>): Promise<{ chunks: number[]; got: Array<{ topic: string; bytes: number }> }> {
  const hub = await connect('hub', 'hub');
  const got: Array<{ topic: string; bytes: number }> = [];
  hub.on('message', (topic, payload) => got.push({ topic, bytes: payload.length }));
  await hub.subscribeAsync('door/+/events', { qos: 1 });
  const t1 = await connect('t1', 't1');
  const t1Gone = closed(t1);
  const chunks: number[] = [];
  t1.on('message', (_t, payload) => chunks.push(payload.length));
  await t1.subscribeAsync('hub/t1/roster', { qos: 1 });
  await hub.publishAsync('hub/t1/roster', Buffer.alloc(1_040_000, 0x61), { qos: 1 });
  await waitFor(() => chunks.length > 0, 5000, 'the chunk');
  t1.publish('door/t1/events', Buffer.alloc(20 * 1024 * 1024, 0x61), { qos: 1 });
  await waitFor(t1Gone, 5000, 'the sender disconnected');
  const again = await connect('t1', 't1');
  await again.publishAsync('door/t1/events', '{"v":1}', { qos: 1 });
  await waitFor(() => got.length > 0, 3000, 'the small event');
  await sleep(300); // anything else (the 20 MB publish) would have arrived by now
  await Promise.all([again.endAsync(), hub.endAsync()]);
  return { chunks, got };
}
