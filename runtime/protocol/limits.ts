/**
 * Size limits of the protocol, shared by the terminal, the hub and both brokers (mosquitto's
 * max_packet_size, the in-process broker's packet guard). The figures behind them are measured by
 * test/runtime/protocol/limits.test.ts on the real encoders:
 *
 * - a snapshot chunk is cut by the hub at ROSTER_MESSAGE_TARGET_BYTES of signed envelope, so a chunk
 *   stays within a few hundred bytes of 1 MiB (its header and signature);
 * - a roster delta is cut at the same target (at most 200 persons, fewer when they are large);
 * - a terminal's events message is cut at EVENTS_MESSAGE_TARGET_BYTES (at most 200 events).
 *
 * Every accepted payload is at most MAX_PAYLOAD_BYTES: twice the largest target, so a message may
 * overshoot its target by one large item and still pass, while a 20 MB publish is refused by the
 * broker before it is read.
 */

/** Target size of one signed roster message (snapshot chunk or delta), envelope included. */
export const ROSTER_MESSAGE_TARGET_BYTES = 1024 * 1024;

/** Target size of one events message from a terminal. */
export const EVENTS_MESSAGE_TARGET_BYTES = 512 * 1024;

/** Largest payload the terminal, the hub and the brokers accept. */
export const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

/**
 * Largest MQTT packet the brokers accept: the payload limit plus the fixed header, the topic (ours are
 * under 100 bytes) and the packet id. A client sending a larger packet is disconnected.
 */
export const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024;

/**
 * Snapshot chunks the hub sends for one request: the first ones of a snapshot, or the first of the
 * chunks a terminal says it misses; the terminal asks for the next ones as soon as these are in. At
 * about 1 MiB each, a window (16 MiB) fits in the broker's per-client queue (BROKER_LIMITS in
 * provisioning/broker.ts), which would otherwise drop most of a large snapshot sent at once.
 */
export const SNAPSHOT_WINDOW_CHUNKS = 16;

/**
 * Bytes one item adds to a signed message: the item's JSON is part of the signed body, which the
 * envelope carries as a JSON string (so every quote and backslash is escaped once more), in UTF-8.
 */
export function signedItemBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(item)), 'utf8') - 2 + 1;
}
