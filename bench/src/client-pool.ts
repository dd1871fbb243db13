import type { BenchPayload } from './bench-event.js';
import type { BenchClient, ClientKind } from './bench-client.js';
import { boundedParallel, tallyError } from './bounded-parallel.js';
import { Histogram } from './histogram.js';
import type { ConnectResult, SubscribeResult } from './ipc-protocol.js';
import { SocketIoBenchClient } from './socketio-bench-client.js';
import { WsBenchClient } from './ws-bench-client.js';

/** The connections one load-generator process holds. Index 0 publishes in the fan-out scenario. */
export class ClientPool {
  readonly clients: BenchClient[] = [];

  async connect(kind: ClientKind, url: string, tokens: string[], count: number, concurrency: number, timeoutMs: number): Promise<ConnectResult> {
    const latency = new Histogram();
    const errors: Record<string, number> = {};
    let failed = 0;
    const started = performance.now();
    await boundedParallel(count, concurrency, async (index) => {
      const token = tokens.length > 0 ? tokens[index % tokens.length] : undefined;
      const client = kind === 'ws' ? new WsBenchClient(url, token) : new SocketIoBenchClient(url);
      const t0 = performance.now();
      try {
        await client.open(timeoutMs);
        latency.record((performance.now() - t0) * 1000);
        this.clients.push(client);
      } catch (error) {
        failed += 1;
        tallyError(errors, error);
      }
    });
    return { opened: count - failed, failed, elapsedMs: performance.now() - started, latency: latency.serialize(), errors };
  }

  async subscribe(channel: string, skip: number, concurrency: number, onPayload: (payload: BenchPayload) => void): Promise<SubscribeResult> {
    const subscribers = this.clients.slice(skip);
    const errors: Record<string, number> = {};
    let failed = 0;
    const started = performance.now();
    await boundedParallel(subscribers.length, concurrency, async (index) => {
      const client = subscribers[index]!;
      client.onPayload = onPayload;
      try {
        await client.subscribe(channel);
      } catch (error) {
        failed += 1;
        tallyError(errors, error);
      }
    });
    return { subscribed: subscribers.length - failed, failed, elapsedMs: performance.now() - started, errors };
  }

  closeAll(): number {
    const count = this.clients.length;
    for (const client of this.clients) client.terminate();
    this.clients.length = 0;
    return count;
  }
}
