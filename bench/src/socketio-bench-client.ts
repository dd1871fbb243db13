import { io, type Socket } from 'socket.io-client';
import type { BenchPayload } from './bench-event.js';
import { asList, type BenchClient, type ClientOptions } from './bench-client.js';

/** The Socket.IO baseline: WebSocket transport only, one Manager (one TCP connection) per client. */
export class SocketIoBenchClient implements BenchClient {
  onPayload: ((payload: BenchPayload) => void) | undefined;
  readonly #url: string;
  readonly #options: ClientOptions;
  #socket: Socket | undefined;

  constructor(url: string, options: ClientOptions = {}) {
    this.#url = url;
    this.#options = options;
  }

  open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = io(this.#url, {
        transports: ['websocket'],
        forceNew: true,
        multiplex: false,
        reconnection: false,
        timeout: timeoutMs,
        // engine.io-client hands this to its Node WebSocket.
        ...(this.#options.localAddress !== undefined ? { localAddress: this.#options.localAddress } : {}),
      });
      this.#socket = socket;
      socket.on('event', (frame: { event: { payload: BenchPayload } }) => this.onPayload?.(frame.event.payload));
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error: Error) => {
        socket.close();
        reject(error);
      });
    });
  }

  async subscribe(channels: string | readonly string[]): Promise<void> {
    await this.#socket!.emitWithAck('subscribe', { channels: asList(channels) });
  }

  async unsubscribe(channels: string | readonly string[]): Promise<void> {
    await this.#socket!.emitWithAck('unsubscribe', { channels: asList(channels) });
  }

  async history(channel: string, limit: number): Promise<void> {
    await this.#socket!.emitWithAck('history', { channel, limit });
  }

  async presence(channel: string): Promise<void> {
    await this.#socket!.emitWithAck('presence', { channel });
  }

  async ping(): Promise<void> {
    await this.#socket!.emitWithAck('heartbeat.ping', { ts: Date.now() });
  }

  async publish(channel: string, eventType: string, payload: BenchPayload): Promise<void> {
    await this.#socket!.emitWithAck('publish', { channel, event: { type: eventType, payload } });
  }

  terminate(): void {
    // close() would send a DISCONNECT packet first; dropping the engine's transport is the closest to a TCP drop.
    this.#socket?.io.engine?.close();
    this.#socket?.close();
  }
}
