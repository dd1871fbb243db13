import { channelTypeOf, clientFrameSchema, ErrorCodes, type ClientFrame, type ErrorKey, type StreamPosition, type SubscriptionState } from '@apix/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

/**
 * A scripted APIX protocol peer for SDK tests: a real WebSocket server on port 0 that
 * speaks the wire contract (connect, subscribe with `since`, publish with idempotency,
 * history, ping, refresh) over an in-memory log. It is a stand-in for the server, not a
 * mock of the SDK: the SDK under test talks to it through a real socket.
 *
 * Every frame the client sends is checked against the protocol's `clientFrameSchema`;
 * `invalidFrames` collects the ones that fail, so each test also checks the SDK's output.
 */
export interface FakeServerOptions {
  /** Default 0 (any free port). */
  port?: number;
  heartbeatIntervalMs?: number;
  tokenLifetimeMs?: number;
  acceptToken?: (token: string) => boolean;
}

interface StoredPublication {
  offset: number;
  event: { type: string; payload: unknown; metadata: { timestamp: number; version: string } & Record<string, unknown> };
}

interface ChannelLog {
  epoch: string;
  publications: StoredPublication[];
  /** Offsets at or below this were trimmed away. */
  trimmedThrough: number;
}

export interface ReceivedFrame {
  peer: number;
  frame: ClientFrame;
}

/** Return true from a hook to skip the default handling of the frame. */
export type FrameHook = (peer: FakePeer, frame: ClientFrame) => boolean | void;

export class FakePeer {
  readonly subscriptions = new Set<string>();
  constructor(
    readonly index: number,
    readonly socket: WebSocket,
  ) {}

  send(frame: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  close(code: number, reason = ''): void {
    this.socket.close(code, reason);
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }
}

export class FakeServer {
  readonly received: ReceivedFrame[] = [];
  readonly invalidFrames: unknown[] = [];
  readonly peers: FakePeer[] = [];
  readonly logs = new Map<string, ChannelLog>();
  readonly idempotency = new Map<string, { channel: string; offset: number; epoch: string }>();
  hook: FrameHook | undefined;
  answerPings = true;
  heartbeatIntervalMs: number;
  tokenLifetimeMs: number;
  acceptToken: (token: string) => boolean;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    options: FakeServerOptions,
  ) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 60_000;
    this.tokenLifetimeMs = options.tokenLifetimeMs ?? 3_600_000;
    this.acceptToken = options.acceptToken ?? ((token) => token !== 'bad');
    wss.on('connection', (socket) => this.#accept(socket));
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const wss = new WebSocketServer({ port: options.port ?? 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const { port } = wss.address() as AddressInfo;
    return new FakeServer(wss, `ws://127.0.0.1:${port}/ws`, options);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Frames of one type, in arrival order. */
  framesOf<T extends ClientFrame['type']>(type: T): Array<Extract<ClientFrame, { type: T }> & { peer: number }> {
    return this.received
      .filter((r) => r.frame.type === type)
      .map((r) => ({ ...(r.frame as Extract<ClientFrame, { type: T }>), peer: r.peer }));
  }

  get lastPeer(): FakePeer {
    const peer = this.peers.at(-1);
    if (!peer) throw new Error('no connection yet');
    return peer;
  }

  log(channel: string): ChannelLog {
    let log = this.logs.get(channel);
    if (!log) {
      log = { epoch: 'e1', publications: [], trimmedThrough: 0 };
      this.logs.set(channel, log);
    }
    return log;
  }

  /** Appends to a channel's log and sends the event to every peer subscribed to it. */
  append(channel: string, type: string, payload: unknown): { offset: number; epoch: string } {
    const log = this.log(channel);
    const offset = (log.publications.at(-1)?.offset ?? log.trimmedThrough) + 1;
    const publication: StoredPublication = { offset, event: { type, payload, metadata: { timestamp: Date.now(), version: '1' } } };
    log.publications.push(publication);
    for (const peer of this.peers) {
      if (peer.open && peer.subscriptions.has(channel)) this.sendEvent(peer, channel, log.epoch, publication);
    }
    return { offset, epoch: log.epoch };
  }

  sendEvent(peer: FakePeer, channel: string, epoch: string, publication: StoredPublication): void {
    peer.send({ type: 'event', channel, offset: publication.offset, epoch, event: publication.event });
  }

  replyOk(peer: FakePeer, id: string, result: unknown): void {
    peer.send({ type: 'reply', id, ok: true, result });
  }

  replyError(peer: FakePeer, id: string, key: ErrorKey, details?: Record<string, unknown>): void {
    const def = ErrorCodes[key];
    peer.send({ type: 'reply', id, ok: false, error: { code: def.code, message: def.message, retryable: def.retryable, ...(details ? { details } : {}) } });
  }

  /** The subscription state the server would report for `channel` resumed from `since`. */
  subscriptionState(channel: string, since: StreamPosition | undefined): { state: SubscriptionState; replay: StoredPublication[] } {
    const log = this.log(channel);
    const top = log.publications.at(-1)?.offset ?? log.trimmedThrough;
    const base = { channel, channelType: channelTypeOf(channel), position: { offset: top, epoch: log.epoch } };
    if (!since) return { state: { ...base, recovered: false, recovering: false }, replay: [] };
    const recoverable = since.epoch === log.epoch && since.offset >= log.trimmedThrough && since.offset <= top;
    if (!recoverable) {
      const missed = since.epoch === log.epoch ? Math.max(0, log.trimmedThrough - since.offset) : undefined;
      return { state: { ...base, recovered: false, recovering: true, ...(missed === undefined ? {} : { missed }) }, replay: [] };
    }
    return { state: { ...base, recovered: true, recovering: true }, replay: log.publications.filter((p) => p.offset > since.offset) };
  }

  #accept(socket: WebSocket): void {
    const peer = new FakePeer(this.peers.length, socket);
    this.peers.push(peer);
    socket.on('message', (data) => {
      const value: unknown = JSON.parse(String(data));
      const parsed = clientFrameSchema.safeParse(value);
      if (!parsed.success) {
        this.invalidFrames.push(value);
        return;
      }
      const frame = parsed.data;
      this.received.push({ peer: peer.index, frame });
      if (this.hook?.(peer, frame) === true) return;
      this.#handle(peer, frame);
    });
  }

  #handle(peer: FakePeer, frame: ClientFrame): void {
    switch (frame.type) {
      case 'connect': {
        if (!this.acceptToken(frame.token)) {
          this.replyError(peer, frame.id, 'AUTH_FAILED');
          peer.close(4500, 'unauthorized');
          return;
        }
        const connectionId = `c${peer.index}`;
        this.replyOk(peer, frame.id, { connectionId, sessionId: `s${peer.index}` });
        const now = Date.now();
        peer.send({
          type: 'connection.established',
          connectionId,
          sessionId: `s${peer.index}`,
          organizationId: 'org1',
          userId: 'u1',
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          expiresAt: now + this.tokenLifetimeMs,
          serverTime: now,
        });
        return;
      }
      case 'subscribe': {
        const results = frame.channels.map((channel) => ({ channel, ...this.subscriptionState(channel, frame.since?.[channel]) }));
        this.replyOk(peer, frame.id, { subscriptions: results.map((r) => r.state) });
        for (const r of results) peer.send({ type: 'subscription.added', ...r.state });
        for (const r of results) {
          for (const publication of r.replay) this.sendEvent(peer, r.channel, this.log(r.channel).epoch, publication);
          peer.subscriptions.add(r.channel);
        }
        return;
      }
      case 'unsubscribe':
        for (const channel of frame.channels) peer.subscriptions.delete(channel);
        this.replyOk(peer, frame.id, { channels: frame.channels });
        for (const channel of frame.channels) peer.send({ type: 'subscription.removed', channel, reason: 'unsubscribed' });
        return;
      case 'publish': {
        const key = frame.idempotencyKey;
        const seen = key === undefined ? undefined : this.idempotency.get(key);
        if (seen) {
          this.replyOk(peer, frame.id, { ...seen, duplicate: true });
          return;
        }
        const position = this.append(frame.channel, frame.event.type, frame.event.payload);
        const result = { channel: frame.channel, ...position };
        if (key !== undefined) this.idempotency.set(key, result);
        this.replyOk(peer, frame.id, { ...result, duplicate: false });
        return;
      }
      case 'history': {
        const log = this.log(frame.channel);
        const after = frame.since?.offset ?? 0;
        const publications = log.publications.filter((p) => p.offset > after).slice(0, frame.limit ?? 100);
        const top = log.publications.at(-1)?.offset ?? log.trimmedThrough;
        this.replyOk(peer, frame.id, { channel: frame.channel, epoch: log.epoch, publications, position: { offset: top, epoch: log.epoch }, complete: true });
        return;
      }
      case 'heartbeat.ping':
        if (this.answerPings) peer.send({ type: 'heartbeat.pong', id: frame.id, ts: frame.ts, serverTime: Date.now() });
        return;
      case 'refresh':
        this.replyOk(peer, frame.id, { expiresAt: Date.now() + this.tokenLifetimeMs });
        return;
    }
  }
}
