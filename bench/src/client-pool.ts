import type { BenchPayload } from './bench-event.js';
import type { BenchClient, ClientKind, ClientOptions } from './bench-client.js';
import { boundedParallel, tallyError } from './bounded-parallel.js';
import { wallNow } from './clock.js';
import { Histogram } from './histogram.js';
import type { ConnectResult, ConnectSubscribeResult, SubscribeResult } from './ipc-protocol.js';
import { SocketIoBenchClient } from './socketio-bench-client.js';
import { channelsFor, inFrames, type SubscriptionPlan } from './subscription-plan.js';
import { WsBenchClient } from './ws-bench-client.js';

/** The connections one load-generator process holds. The first ones publish in the fan-out scenarios. */
export class ClientPool {
  readonly clients: BenchClient[] = [];

  async connect(kind: ClientKind, url: string, tokens: string[], count: number, concurrency: number, timeoutMs: number, options: ClientOptions = {}): Promise<ConnectResult> {
    const latency = new Histogram();
    const errors: Record<string, number> = {};
    let failed = 0;
    const started = performance.now();
    await boundedParallel(count, concurrency, async (index) => {
      const client = newClient(kind, url, tokens, index, options);
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

  /**
   * Opens `count` connections, each subscribing as soon as it is usable, at most `concurrency`
   * of them between `new WebSocket` and the subscribe reply. Nothing starts after `deadlineMs`,
   * and each attempt gives up at the deadline, so a server that stalls makes this return on
   * time with the count it reached.
   */
  async connectAndSubscribe(
    kind: ClientKind,
    url: string,
    tokens: string[],
    count: number,
    concurrency: number,
    deadlineMs: number,
    plan: SubscriptionPlan,
    originWallMs: number,
    options: ClientOptions = {},
  ): Promise<ConnectSubscribeResult> {
    const latency = new Histogram();
    const completedAt = new Histogram();
    const errors: Record<string, number> = {};
    let attempted = 0;
    let opened = 0;
    let subscribed = 0;
    const deadline = performance.now() + deadlineMs;
    await boundedParallel(count, concurrency, async (index) => {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return;
      attempted += 1;
      const client = newClient(kind, url, tokens, index, options);
      const t0 = performance.now();
      try {
        await client.open(remaining);
        opened += 1;
        this.clients.push(client);
        await withDeadline(Promise.all(inFrames(channelsFor(plan, index)).map((frame) => client.subscribe(frame))), deadline - performance.now());
        latency.record((performance.now() - t0) * 1000);
        completedAt.record((wallNow() - originWallMs) * 1000);
        subscribed += 1;
      } catch (error) {
        tallyError(errors, error);
      }
    });
    const notStarted = count - attempted;
    if (notStarted > 0) errors['not started before the deadline'] = notStarted;
    return { attempted, opened, subscribed, failed: count - subscribed, errors, latency: latency.serialize(), completedAt: completedAt.serialize() };
  }

  async subscribe(plan: SubscriptionPlan, skip: number, concurrency: number, onPayload: (payload: BenchPayload) => void): Promise<SubscribeResult> {
    const subscribers = this.clients.slice(skip);
    const errors: Record<string, number> = {};
    let failed = 0;
    const started = performance.now();
    await boundedParallel(subscribers.length, concurrency, async (index) => {
      const client = subscribers[index]!;
      client.onPayload = onPayload;
      try {
        for (const frame of inFrames(channelsFor(plan, index))) await client.subscribe(frame);
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

function newClient(kind: ClientKind, url: string, tokens: string[], index: number, options: ClientOptions): BenchClient {
  const token = tokens.length > 0 ? tokens[index % tokens.length] : undefined;
  return kind === 'ws' ? new WsBenchClient(url, token, options) : new SocketIoBenchClient(url, options);
}

/** Rejects when `ms` passes first (the promise itself is left to settle on its own). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return Promise.reject(new Error('deadline passed'));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for the subscribe reply')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
