import { io, type Socket } from 'socket.io-client';
import type { BenchPayload } from './bench-event.js';
import type { BenchClient } from './bench-client.js';

/** The Socket.IO baseline: WebSocket transport only, one Manager (one TCP connection) per client. */
export class SocketIoBenchClient implements BenchClient {
  onPayload: ((payload: BenchPayload) => void) | undefined;
  readonly #url: string;
  #socket: Socket | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  open(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = io(this.#url, {
        transports: ['websocket'],
        forceNew: true,
        multiplex: false,
        reconnection: false,
        timeout: timeoutMs,
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

  async subscribe(channel: string): Promise<void> {
    await this.#socket!.emitWithAck('subscribe', { channels: [channel] });
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
