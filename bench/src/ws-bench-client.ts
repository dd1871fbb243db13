import WebSocket from 'ws';
import type { BenchPayload } from './bench-event.js';
import { asList, type BenchClient, type ClientOptions } from './bench-client.js';

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

interface ServerFrame {
  type: string;
  id?: string;
  ok?: boolean;
  error?: { code: string; message: string };
  event?: { payload: BenchPayload };
}

/**
 * APIX's WebSocket protocol, as used by both APIX and the raw ws baseline: bearer token at
 * upgrade, then `connection.established`; `subscribe`/`publish` requests answered by `reply`.
 */
export class WsBenchClient implements BenchClient {
  onPayload: ((payload: BenchPayload) => void) | undefined;
  readonly #url: string;
  readonly #token: string | undefined;
  readonly #options: ClientOptions;
  readonly #pending = new Map<string, Pending>();
  #socket: WebSocket | undefined;
  #nextId = 0;

  constructor(url: string, token: string | undefined, options: ClientOptions = {}) {
    this.#url = url;
    this.#token = token;
    this.#options = options;
  }

  open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.#url, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        ...(this.#options.localAddress !== undefined ? { localAddress: this.#options.localAddress } : {}),
        ...(this.#token !== undefined ? { headers: { Authorization: `Bearer ${this.#token}` } } : {}),
      });
      this.#socket = socket;
      let established = false;
      const timer = setTimeout(() => fail(new Error('timed out waiting for connection.established')), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        if (!established) {
          established = true;
          socket.terminate();
          reject(error);
        }
      };
      socket.on('unexpected-response', (_request, response) => fail(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
      socket.on('error', (error) => fail(error));
      socket.on('close', (code) => {
        fail(new Error(`closed before established (${code})`));
        for (const pending of this.#pending.values()) pending.reject(new Error(`connection closed (${code})`));
        this.#pending.clear();
      });
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as ServerFrame;
        switch (frame.type) {
          case 'event':
            this.onPayload?.(frame.event!.payload);
            return;
          case 'reply':
          case 'heartbeat.pong': {
            const pending = this.#pending.get(frame.id!);
            if (!pending) return;
            this.#pending.delete(frame.id!);
            if (frame.ok || frame.type === 'heartbeat.pong') pending.resolve();
            else pending.reject(new Error(`${frame.error?.code}: ${frame.error?.message}`));
            return;
          }
          case 'connection.established':
            if (!established) {
              established = true;
              clearTimeout(timer);
              resolve();
            }
            return;
          default:
            return;
        }
      });
    });
  }

  subscribe(channels: string | readonly string[]): Promise<void> {
    return this.#request({ type: 'subscribe', channels: asList(channels) });
  }

  unsubscribe(channels: string | readonly string[]): Promise<void> {
    return this.#request({ type: 'unsubscribe', channels: asList(channels) });
  }

  history(channel: string, limit: number): Promise<void> {
    return this.#request({ type: 'history', channel, limit });
  }

  presence(channel: string): Promise<void> {
    return this.#request({ type: 'presence', channel });
  }

  ping(): Promise<void> {
    return this.#request({ type: 'heartbeat.ping' });
  }

  publish(channel: string, eventType: string, payload: BenchPayload): Promise<void> {
    return this.#request({ type: 'publish', channel, event: { type: eventType, payload } });
  }

  terminate(): void {
    this.#socket?.terminate();
  }

  #request(frame: Record<string, unknown>): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not open'));
    const id = String(++this.#nextId);
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ ...frame, id }));
    });
  }
}
