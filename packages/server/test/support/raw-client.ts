import { WebSocket, type ClientOptions } from 'ws';

type Frame = Record<string, unknown> & { type: string };

/**
 * A protocol-level test client over raw `ws`: sends frames as given and records every frame
 * it receives, so tests can assert on exactly what the server put on the wire.
 */
export class RawClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  #nextId = 0;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a socket; rejects with the HTTP status if the upgrade is refused. */
  static open(url: string, options: ClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options);
      const client = new RawClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  /** Opens and authenticates with a connect frame; resolves after connection.established. */
  static async connect(url: string, token: string): Promise<RawClient> {
    const client = await RawClient.open(url);
    const reply = await client.request({ type: 'connect', token });
    if (reply.ok !== true) throw new Error(`connect refused: ${JSON.stringify(reply)}`);
    await client.next((f) => f.type === 'connection.established');
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a request frame (an id is added unless given) and resolves with its reply. */
  request(frame: Record<string, unknown>): Promise<Frame> {
    const id = typeof frame.id === 'string' ? frame.id : `r${++this.#nextId}`;
    const reply = this.next((f) => (f.type === 'reply' || f.type === 'heartbeat.pong') && f.id === id);
    this.send({ ...frame, id });
    return reply;
  }

  /** The first frame received from now on (or already received and not yet consumed by `next`) that matches. */
  next(match: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }

  /** Event frames received so far for a channel, in arrival order. */
  events(channel: string): Frame[] {
    return this.frames.filter((f) => f.type === 'event' && f.channel === channel);
  }

  async waitForEvents(channel: string, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events(channel).length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.events(channel).length}/${count} events on ${channel}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.events(channel);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
    return this.closed;
  }
}
