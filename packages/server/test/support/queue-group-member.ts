import { RawClient } from './raw-client.js';

type Frame = Record<string, unknown> & { type: string };

/** One event frame as a member saw it. */
export interface Receipt {
  readonly member: string;
  readonly offset: number;
  readonly retryCount: number;
  /** performance.now() at arrival. */
  readonly at: number;
}

/**
 * A queue-group member over a raw socket, for tests: records every event it receives and acks
 * each one with its own `ack` frame (unless told to hold acks), so the reply's `acked` count
 * says whether *this* member settled it — that is what "acked by two members" is checked on.
 */
export class QueueGroupMember {
  readonly name: string;
  readonly client: RawClient;
  readonly channel: string;
  readonly receipts: Receipt[] = [];
  /** The session's token (connect reply): connect again with it to resume the session. */
  sessionToken = '';
  /** The session id (connect reply): the member's name in the store's group. */
  sessionId = '';
  /** Offsets whose ack reply said this member settled them (acked: 1). */
  readonly acked: number[] = [];
  /** Offsets this member sent an ack for (whether or not a reply came). */
  readonly ackSent = new Set<number>();
  /** While true, events are recorded but not acked (a member busy "processing"). */
  holdAcks: boolean;
  /** "Processing" time: each event is acked this long after it arrived. */
  readonly ackDelayMs: number;
  /** Which events get acked at all (default: every one). */
  readonly ackIf: (offset: number) => boolean;
  #ackSeq = 0;

  private constructor(name: string, client: RawClient, channel: string, holdAcks: boolean, ackDelayMs: number, ackIf: (offset: number) => boolean) {
    this.name = name;
    this.client = client;
    this.channel = channel;
    this.holdAcks = holdAcks;
    this.ackDelayMs = ackDelayMs;
    this.ackIf = ackIf;
    client.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type !== 'event' || frame.channel !== channel) return;
      const offset = frame.offset as number;
      this.receipts.push({ member: name, offset, retryCount: frame.retryCount as number, at: performance.now() });
      if (this.holdAcks || !this.ackIf(offset)) return;
      if (this.ackDelayMs > 0) setTimeout(() => this.ack([offset]), this.ackDelayMs);
      else this.ack([offset]);
    });
  }

  /** Connects and subscribes as a member of `group`; rejects unless the subscribe is accepted. */
  static async join(
    wsUrl: string,
    token: string,
    name: string,
    channel: string,
    group: string,
    options: { holdAcks?: boolean; ackDelayMs?: number; ackIf?: (offset: number) => boolean; sessionToken?: string } = {},
  ): Promise<QueueGroupMember> {
    const client = await RawClient.open(wsUrl);
    const connected = await client.request({ type: 'connect', token, ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}) });
    if (connected.ok !== true) throw new Error(`${name}: connect refused: ${JSON.stringify(connected)}`);
    await client.next((f) => f.type === 'connection.established');
    const member = new QueueGroupMember(name, client, channel, options.holdAcks === true, options.ackDelayMs ?? 0, options.ackIf ?? (() => true));
    member.sessionToken = (connected.result as { sessionToken: string }).sessionToken;
    member.sessionId = (connected.result as { sessionId: string }).sessionId;
    const reply = await client.request({ type: 'subscribe', channels: [channel], group });
    if (reply.ok !== true) throw new Error(`${name}: subscribe refused: ${JSON.stringify(reply)}`);
    return member;
  }

  /** Acks the offsets (one frame); the reply's `acked` tells which this member settled. */
  ack(offsets: number[]): void {
    if (this.client.socket.readyState !== this.client.socket.OPEN) return;
    const id = `ack-${this.name}-${++this.#ackSeq}`;
    for (const offset of offsets) this.ackSent.add(offset);
    this.client
      .request({ type: 'ack', id, channel: this.channel, offsets })
      .then((reply) => {
        const acked = (reply.result as { acked?: number } | undefined)?.acked ?? 0;
        // One offset per frame when it counts: then acked 1 names it.
        if (offsets.length === 1 && acked === 1) this.acked.push(offsets[0]!);
      })
      .catch(() => undefined); // the socket went away: the ack did not count
  }

  offsets(): number[] {
    return this.receipts.map((r) => r.offset);
  }
}

/** Polls `condition` until it holds or the deadline passes (never a fixed sleep for correctness). */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every offset acked by exactly one member: the member names per offset, for a readable failure. */
export function ackersByOffset(members: readonly QueueGroupMember[]): Map<number, string[]> {
  const byOffset = new Map<number, string[]>();
  for (const member of members) {
    for (const offset of member.acked) byOffset.set(offset, [...(byOffset.get(offset) ?? []), member.name]);
  }
  return byOffset;
}
