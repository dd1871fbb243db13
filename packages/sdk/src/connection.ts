import type { ClientFrame, HeartbeatPongFrame, ServerFrame } from '@apix/protocol';
import { ApiXClientError } from './errors.js';
import { heartbeatPongFrameCheck } from './frame-checks.js';
import { decodeServerFrame, parseWith, type SchemaOf } from './frame-decoder.js';
import { RequestTracker, type Outcome } from './request-tracker.js';
import { WEBSOCKET_OPEN, type WebSocketLike } from './websocket.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A client frame before the connection gives it a request id. */
export type ClientRequest = DistributiveOmit<ClientFrame, 'id'>;

/** Server frames that are not answers to a request: the client routes these. */
export type PushFrame = Exclude<ServerFrame, { type: 'reply' } | { type: 'heartbeat.pong' }>;

/** What the socket let us see about why it closed, beyond code and reason. */
export interface CloseDetail {
  /** Whether the socket ever opened (a close before open is a failed upgrade or an unreachable server). */
  opened: boolean;
  /** The HTTP status of a refused upgrade, and the APIX error in its body. Node's `ws` only: browsers hide both. */
  httpStatus?: number;
  refusal?: { code?: string; message?: string };
  /** The transport's own error message (Node: "connect ECONNREFUSED …"; browsers give none). */
  transportMessage?: string;
}

export interface ConnectionHandlers {
  open(): void;
  frame(frame: PushFrame): void;
  /** The socket closed on its own (not through `close()`). */
  close(code: number, reason: string, detail: CloseDetail): void;
  /** Something went wrong that does not end the connection (a malformed frame). */
  error(error: ApiXClientError): void;
}

// ws emits 'error' as an EventEmitter event: with no listener it would crash the process,
// so a detached socket keeps a listener that does nothing.
const ignore = (): void => {};

/** What browsers report for a connection lost without a close frame. */
const CLOSE_ABNORMAL = 1006;

/**
 * One WebSocket, from open to close. It owns the request ids of that socket: replies and
 * pongs settle requests here, and when the socket ends every request still waiting fails
 * with APIX_ERR_CONNECTION_LOST, so the caller decides whether to re-send it on the next
 * connection.
 *
 * Invariant: after `close()` or the socket's own close, no handler runs again.
 */
export class Connection {
  readonly #socket: WebSocketLike;
  readonly #handlers: ConnectionHandlers;
  readonly #tracker = new RequestTracker();
  readonly #detail: CloseDetail = { opened: false };
  #ended = false;

  constructor(socket: WebSocketLike, handlers: ConnectionHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    socket.onopen = () => {
      this.#detail.opened = true;
      if (!this.#ended) handlers.open();
    };
    socket.onmessage = (event) => {
      if (!this.#ended) this.#receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.#ended) return;
      this.#end();
      handlers.close(event.code, event.reason, { ...this.#detail });
    };
    // Browsers give no detail on errors and always follow with close; the close handler acts.
    // Node's ws puts the cause in the event's message ("connect ECONNREFUSED …"): keep it for the close.
    socket.onerror = (event: unknown) => {
      const message = (event as { message?: unknown } | null)?.message;
      if (typeof message === 'string' && message && this.#detail.transportMessage === undefined) this.#detail.transportMessage = message;
    };
    listenForRefusedUpgrade(socket, this.#detail);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Sends a request. `onOutcome` runs exactly once, synchronously as the reply frame is
   * read (or at the timeout, or when the connection ends), with the result checked against
   * `schema`. Returns false, without calling `onOutcome`, if the connection has ended.
   */
  send<T>(body: ClientRequest, schema: SchemaOf<T>, timeoutMs: number, onOutcome: (outcome: Outcome<T>) => void): boolean {
    if (this.#ended) return false;
    const id = this.#tracker.start(timeoutMs, (outcome) => {
      if (!outcome.ok) return onOutcome(outcome);
      const parsed = parseWith(schema, outcome.value, `${body.type} reply`);
      onOutcome(parsed.ok ? { ok: true, value: parsed.frame } : { ok: false, error: parsed.error });
    });
    try {
      if (this.#socket.readyState !== WEBSOCKET_OPEN) throw new Error('socket is not open');
      this.#socket.send(JSON.stringify({ ...body, id }));
    } catch (error) {
      this.#fail(`send failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return true;
  }

  /** `send` as a promise. */
  call<T>(body: ClientRequest, schema: SchemaOf<T>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const sent = this.send(body, schema, timeoutMs, (outcome) => (outcome.ok ? resolve(outcome.value) : reject(outcome.error)));
      if (!sent) reject(ApiXClientError.client('CONNECTION_LOST'));
    });
  }

  /** Sends `heartbeat.ping` (with the previous round trip, when there was one) and resolves with the pong. */
  ping(ts: number, timeoutMs: number, rttMs?: number): Promise<HeartbeatPongFrame> {
    return this.call({ type: 'heartbeat.ping', ts, ...(rttMs !== undefined ? { rtt: rttMs } : {}) }, heartbeatPongFrameCheck, timeoutMs);
  }

  /**
   * Ends the connection from our side. With `terminate`, the socket is dropped without a
   * closing handshake where the implementation allows it: on a dead link the handshake
   * would wait for a peer that is gone.
   */
  close(code: number, reason: string, options: { terminate?: boolean } = {}): void {
    if (this.#ended) return;
    this.#end();
    try {
      if (options.terminate && typeof this.#socket.terminate === 'function') this.#socket.terminate();
      // Browsers accept only 1000 and 3000–4999 from a client; anything else would throw and leave the socket open.
      else this.#socket.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason.slice(0, 120));
    } catch {
      // Closing an already-closing socket can throw in some implementations; the socket is gone either way.
    }
  }

  /**
   * The socket cannot send any more (it is closing, or the implementation threw): end the
   * connection. The owner hears of it on a microtask, never from inside `send` (it may be
   * half way through its own bookkeeping there). As on a real close, waiting requests fail
   * first and the owner is told right after, in the same turn, so by the time anyone reacts
   * to APIX_ERR_CONNECTION_LOST the owner has moved on from this connection.
   */
  #fail(reason: string): void {
    if (this.#ended) return;
    this.#detach();
    queueMicrotask(() => {
      this.#tracker.failAll(ApiXClientError.client('CONNECTION_LOST'));
      this.#handlers.close(CLOSE_ABNORMAL, reason, { ...this.#detail });
    });
    try {
      this.#socket.close(1000, 'send failed');
    } catch {
      // Already closing; nothing more to do.
    }
  }

  #end(): void {
    this.#detach();
    this.#tracker.failAll(ApiXClientError.client('CONNECTION_LOST'));
  }

  #detach(): void {
    this.#ended = true;
    this.#socket.onopen = ignore;
    this.#socket.onmessage = ignore;
    this.#socket.onclose = ignore;
    this.#socket.onerror = ignore;
  }

  #receive(data: unknown): void {
    const decoded = decodeServerFrame(data);
    if (!decoded.ok) {
      // A malformed answer still names its request: fail that request now rather than at its timeout.
      if (decoded.id !== undefined && this.#tracker.reject(decoded.id, decoded.error)) return;
      this.#handlers.error(decoded.error);
      return;
    }
    const frame = decoded.frame;
    switch (frame.type) {
      case 'reply':
        if (frame.ok) this.#tracker.resolve(frame.id, frame.result);
        else this.#tracker.reject(frame.id, ApiXClientError.fromBody(frame.error));
        return;
      case 'heartbeat.pong':
        this.#tracker.resolve(frame.id, frame);
        return;
      default:
        this.#handlers.frame(frame);
    }
  }
}

/** The part of Node's `ws` client that reports a refused upgrade (browsers have nothing like it). */
interface NodeWebSocketEvents {
  on(event: 'unexpected-response', listener: (request: unknown, response: NodeHttpResponse) => void): unknown;
  terminate(): void;
}
interface NodeHttpResponse {
  statusCode?: number;
  on(event: 'data', listener: (chunk: { toString(): string }) => void): unknown;
  on(event: 'end' | 'error' | 'close', listener: () => void): unknown;
}

/** The server's error body is small; a bigger one is not ours and is cut off. */
const MAX_REFUSAL_BODY_CHARS = 4096;

/**
 * On Node, `ws` reports an upgrade answered with an HTTP error through 'unexpected-response'.
 * Listening for it (instead of letting ws turn it into "Unexpected server response: 403")
 * lets the SDK read the APIX error in the body — e.g. APIX_ERR_ORIGIN_NOT_ALLOWED — and then
 * end the socket itself, which ws reports as a close (1006) like any failed handshake.
 */
function listenForRefusedUpgrade(socket: WebSocketLike, detail: CloseDetail): void {
  const nodeSocket = socket as unknown as Partial<NodeWebSocketEvents>;
  if (typeof nodeSocket.on !== 'function' || typeof nodeSocket.terminate !== 'function') return;
  nodeSocket.on('unexpected-response', (_request, response) => {
    if (response.statusCode !== undefined) detail.httpStatus = response.statusCode;
    let body = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      try {
        const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
        const code = typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
        const message = typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
        detail.refusal = { ...(code ? { code } : {}), ...(message ? { message } : {}) };
      } catch {
        // Not an APIX body (a proxy's error page): the status alone tells the story.
      }
      nodeSocket.terminate?.();
    };
    response.on('data', (chunk) => {
      body += chunk.toString();
      if (body.length > MAX_REFUSAL_BODY_CHARS) finish();
    });
    response.on('end', finish);
    response.on('error', finish);
    response.on('close', finish);
  });
}
