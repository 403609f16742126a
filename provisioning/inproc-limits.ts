/**
 * The in-process broker's bounds (provisioning/inproc-broker.ts), the same as mosquitto's
 * (BROKER_LIMITS in provisioning/broker.ts), which aedes has no options for:
 *
 * - `limitPackets`: the connection is read through a scanner of MQTT fixed headers; a packet whose
 *   declared size is over the limit closes the connection as soon as its header is read, before its
 *   body is buffered (as mosquitto's max_packet_size does);
 * - `boundedQueues`: wraps aedes' persistence so that each client's unacknowledged QoS 1 messages
 *   (queued and in flight: aedes has no separate in-flight window) stay under a count and a byte
 *   bound; a message over it is dropped for that client, as mosquitto drops beyond max_queued_*.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Follows MQTT packet boundaries in a byte stream and checks each packet's declared size. */
export class PacketSizeScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Consumes `chunk`; false as soon as a packet (fixed header included) is declared larger than the limit. */
  feed(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++] ?? 0;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if (this.lengthBytes > 4) return false; // malformed remaining length
      if ((byte & 0x80) !== 0) continue;
      if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return false;
      this.remaining = this.length;
      this.state = this.remaining > 0 ? 'body' : 'type';
    }
    return true;
  }
}

/**
 * The socket as a stream for aedes, with every incoming packet's size checked first; `onOversize` is
 * told before the socket is destroyed.
 */
export function limitPackets(socket: Socket, maxPacketBytes: number, onOversize: () => void): Duplex {
  const scanner = new PacketSizeScanner(maxPacketBytes);
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, encoding, cb) {
      socket.write(chunk, encoding, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!scanner.feed(chunk)) {
      onOversize();
      socket.destroy();
      stream.destroy();
      return;
    }
    if (!stream.push(chunk)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  socket.on('error', () => stream.destroy());
  return stream;
}

interface AedesPacket {
  payload?: Buffer | string;
  messageId?: number;
}
interface Sub {
  clientId: string;
}
/** The parts of aedes' persistence that queue and release outgoing QoS 1 messages. */
export interface OutgoingPersistence {
  outgoingEnqueue(sub: Sub, packet: AedesPacket): Promise<void>;
  outgoingEnqueueCombi(subs: Sub[], packet: AedesPacket): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: AedesPacket): Promise<AedesPacket | undefined>;
}

export interface QueueBounds {
  maxMessages: number;
  maxBytes: number;
  /** Told of each message dropped for a client at its bound. */
  onDrop?: (clientId: string) => void;
}

/**
 * Bounds each client's queue in `persistence` (changed in place, returned). Returns also the
 * `authorizeForward` hook aedes must use, which keeps a dropped message from being sent to a client
 * that is online.
 */
export function boundedQueues<P extends OutgoingPersistence>(
  persistence: P,
  bounds: QueueBounds,
): { persistence: P; authorizeForward: (client: { id: string }, packet: object) => object | null } {
  const queued = new Map<string, { messages: number; bytes: number }>();
  const dropped = new Map<string, WeakSet<object>>();
  const size = (p: AedesPacket): number => (p.payload === undefined ? 0 : Buffer.byteLength(p.payload));
  const admit = (clientId: string, packet: AedesPacket): boolean => {
    const q = queued.get(clientId) ?? { messages: 0, bytes: 0 };
    if (q.messages + 1 > bounds.maxMessages || q.bytes + size(packet) > bounds.maxBytes) {
      let d = dropped.get(clientId);
      if (!d) dropped.set(clientId, (d = new WeakSet()));
      d.add(packet);
      bounds.onDrop?.(clientId);
      return false;
    }
    queued.set(clientId, { messages: q.messages + 1, bytes: q.bytes + size(packet) });
    return true;
  };
  const enqueue = persistence.outgoingEnqueue.bind(persistence);
  const enqueueCombi = persistence.outgoingEnqueueCombi.bind(persistence);
  const clear = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingEnqueue = (sub, packet) => (admit(sub.clientId, packet) ? enqueue(sub, packet) : Promise.resolve());
  persistence.outgoingEnqueueCombi = (subs, packet) => enqueueCombi(subs.filter((s) => admit(s.clientId, packet)), packet);
  persistence.outgoingClearMessageId = async (client, packet) => {
    // A message dropped for this client was never queued: clearing it would remove another one.
    if (dropped.get(client.id)?.has(packet)) return undefined;
    const gone = await clear(client, packet);
    const q = queued.get(client.id);
    if (gone && q) queued.set(client.id, { messages: Math.max(0, q.messages - 1), bytes: Math.max(0, q.bytes - size(gone)) });
    return gone;
  };
  const authorizeForward = (client: { id: string }, packet: object): object | null => (dropped.get(client.id)?.has(packet) ? null : packet);
  return { persistence, authorizeForward };
}
