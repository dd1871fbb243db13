import { randomToken } from '../support/random-token.js';
import { ApiXError } from '@apix/protocol';
import type {
  Broker,
  BrokerEventHandler,
  BrokerPublication,
  HistoryOptions,
  HistorySlice,
  PublishOptions,
  PublishOutcome,
} from './broker.js';
import { assertStreamPosition } from './position-check.js';
import { NotificationSequencer } from './notification-sequencer.js';
import { connectRedis, createRedisClient, type RedisClient, type RedisTarget } from './redis-connection.js';
import { assertRedisPrefix, channelKeys, DEFAULT_REDIS_PREFIX, type ChannelKeys } from './redis-keys.js';
import { luaScript, runScript, type LuaScript } from './redis-script.js';
import { HISTORY_SCRIPT, PUBLISH_SCRIPT, REMOVE_HISTORY_SCRIPT } from './redis-scripts.js';

const DEFAULT_IDEMPOTENCY_TTL_MS = 300_000;

export interface RedisBrokerOptions extends RedisTarget {
  /** First part of every key and Pub/Sub channel (lets several deployments or tests share one Redis). */
  readonly prefix?: string;
  /** A channel with no publish for this long expires (its next publish starts a new epoch). */
  readonly streamIdleTtlMs?: number;
  /** A channel that was only read, never published to, expires after this long. */
  readonly emptyStreamTtlMs?: number;
  /** Commands waiting for Redis at most; past it calls fail at once (bounded memory when Redis stalls). */
  readonly maxInFlight?: number;
  readonly onError?: (error: unknown, context: string) => void;
}

const SCRIPTS = { publish: luaScript(PUBLISH_SCRIPT), history: luaScript(HISTORY_SCRIPT), removeHistory: luaScript(REMOVE_HISTORY_SCRIPT) };

type StreamEntry = [id: string, fields: string[]];

/** Parses a stream entry id `<offset>-<append ms>` and its `d` field. */
function toPublication([id, fields]: StreamEntry): BrokerPublication {
  const dash = id.indexOf('-');
  const dataIndex = fields.indexOf('d');
  return { offset: Number(id.slice(0, dash)), publishedAt: Number(id.slice(dash + 1)), data: dataIndex >= 0 ? fields[dataIndex + 1]! : '' };
}

/** Parses a notification `<offset>:<epoch>:<ms>:<data>` (the epoch never holds a colon). */
export function parseNotification(message: string): { publication: BrokerPublication; epoch: string } | undefined {
  const a = message.indexOf(':');
  const b = message.indexOf(':', a + 1);
  const c = message.indexOf(':', b + 1);
  if (a <= 0 || b <= a || c <= b) return undefined;
  const offset = Number(message.slice(0, a));
  const publishedAt = Number(message.slice(b + 1, c));
  if (!Number.isSafeInteger(offset) || !Number.isFinite(publishedAt)) return undefined;
  return { publication: { offset, publishedAt, data: message.slice(c + 1) }, epoch: message.slice(a + 1, b) };
}

const unavailable = (error: unknown) =>
  error instanceof ApiXError
    ? error
    : new ApiXError('UNAVAILABLE', 'the event store (Redis) did not answer; retry', { cause: error instanceof Error ? error.message : String(error) });

/**
 * The cluster engine: each channel's log is a Redis Stream, live notifications go over Redis
 * Pub/Sub, and publish (offset + XADD + idempotency record + PUBLISH) is one Lua script, so
 * append and notify are atomic per channel and idempotency is shared by every node. Runs
 * unchanged on one Redis and on a Redis Cluster (each channel's keys share a hash slot).
 *
 * Pub/Sub may drop notifications (a node's link to Redis reconnecting): every notification
 * carries its offset and epoch and the `NotificationSequencer` fills gaps from the stream.
 * When Redis is slow or gone, calls fail fast with APIX_ERR_UNAVAILABLE: nothing queues up
 * without bound and nothing is sent twice (see redis-connection.ts).
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  readonly #target: RedisTarget;
  readonly #prefix: string;
  readonly #streamIdleTtlMs: number;
  readonly #emptyStreamTtlMs: number;
  readonly #maxInFlight: number;
  readonly #onError: (error: unknown, context: string) => void;
  #commands: RedisClient | undefined;
  #subscriber: RedisClient | undefined;
  #sequencer: NotificationSequencer | undefined;
  /** Pub/Sub channel → channel key, for the channels this node subscribed to. */
  readonly #notifyToKey = new Map<string, string>();
  #inFlight = 0;
  #everReady = false;

  constructor(options: RedisBrokerOptions) {
    this.#target = options;
    this.#prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    assertRedisPrefix(this.#prefix);
    this.#streamIdleTtlMs = options.streamIdleTtlMs ?? 24 * 3_600_000;
    this.#emptyStreamTtlMs = options.emptyStreamTtlMs ?? 3_600_000;
    this.#maxInFlight = options.maxInFlight ?? 10_000;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** True while both links to Redis are up (readiness reports degraded otherwise). */
  get connected(): boolean {
    return this.#commands?.status === 'ready' && this.#subscriber?.status === 'ready';
  }

  /**
   * Whether Redis answers now: both links up and a PING answered within the command timeout.
   * A stalled server (SIGSTOP, a long fork) keeps its TCP links, so `connected` alone misses it.
   */
  async healthy(): Promise<boolean> {
    if (!this.connected) return false;
    return this.#commands!.ping().then(
      () => true,
      () => false,
    );
  }

  async start(handler: BrokerEventHandler): Promise<void> {
    const commands = createRedisClient(this.#target, 'apix-broker');
    const subscriber = createRedisClient(this.#target, 'apix-broker-sub');
    this.#commands = commands;
    this.#subscriber = subscriber;
    // ioredis emits 'error' for every failed (re)connect; the reconnect itself is automatic.
    commands.on('error', (error: unknown) => this.#onError(error, 'redis command link'));
    subscriber.on('error', (error: unknown) => this.#onError(error, 'redis subscriber link'));
    const sequencer = new NotificationSequencer(
      (key, since, limit) => this.history(key, { since, limit }),
      (key, publication, epoch) => handler.onPublication(key, publication, epoch),
      (error, key) => this.#onError(error, `gap fill of ${key}`),
    );
    this.#sequencer = sequencer;
    subscriber.on('message', (channel: string, message: string) => {
      const key = this.#notifyToKey.get(channel);
      const parsed = key === undefined ? undefined : parseNotification(message);
      if (key !== undefined && parsed) sequencer.receive(key, parsed.publication, parsed.epoch);
    });
    // After a reconnect (ioredis re-subscribes by itself) notifications may have been lost
    // while the link was down: read each subscribed channel's log past what was delivered.
    subscriber.on('ready', () => {
      if (!this.#everReady) return;
      for (const key of sequencer.trackedKeys) sequencer.catchUp(key);
    });
    await Promise.all([connectRedis(commands), connectRedis(subscriber)]);
    this.#everReady = true;
  }

  async publish(channelKey: string, data: string, options: PublishOptions): Promise<PublishOutcome> {
    const keys = channelKeys(this.#prefix, channelKey);
    const idempotencyTtlMs = options.idempotencyKey === undefined ? 0 : (options.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS);
    const reply = (await this.#eval(
      SCRIPTS.publish,
      [keys.meta, keys.stream, keys.idempotency(options.idempotencyKey ?? '')],
      [data, options.historySize, options.historyTtlMs, idempotencyTtlMs, newEpoch(), this.#streamIdleTtlMs, keys.notify],
    )) as [number, string, number, number];
    return { offset: Number(reply[0]), epoch: String(reply[1]), duplicate: Number(reply[2]) === 1, publishedAt: Number(reply[3]) };
  }

  async subscribe(channelKey: string): Promise<void> {
    const keys = channelKeys(this.#prefix, channelKey);
    const subscriber = this.#requireStarted(this.#subscriber);
    this.#notifyToKey.set(keys.notify, channelKey);
    this.#sequencer!.track(channelKey);
    try {
      await subscriber.subscribe(keys.notify);
      const slice = await this.history(channelKey, { limit: 0 });
      this.#sequencer!.initPosition(channelKey, slice.position);
    } catch (error) {
      this.#notifyToKey.delete(keys.notify);
      this.#sequencer!.forget(channelKey);
      throw unavailable(error);
    }
  }

  async unsubscribe(channelKey: string): Promise<void> {
    const keys = channelKeys(this.#prefix, channelKey);
    // Forget first: whatever still arrives for the channel is dropped.
    this.#notifyToKey.delete(keys.notify);
    this.#sequencer?.forget(channelKey);
    try {
      await this.#requireStarted(this.#subscriber).unsubscribe(keys.notify);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async history(channelKey: string, options: HistoryOptions): Promise<HistorySlice> {
    if (options.since !== undefined) assertStreamPosition(options.since);
    if (!Number.isSafeInteger(options.limit) || options.limit < 0) throw new ApiXError('INVALID_REQUEST', 'history limit must be a non-negative integer');
    const keys = channelKeys(this.#prefix, channelKey);
    const reply = (await this.#eval(
      SCRIPTS.history,
      [keys.meta, keys.stream],
      [newEpoch(), this.#emptyStreamTtlMs, options.since?.epoch ?? '', options.since?.offset ?? 0, options.limit],
    )) as [string, number, StreamEntry[]];
    return {
      publications: reply[2].map(toPublication),
      position: { offset: Number(reply[1]), epoch: String(reply[0]) },
    };
  }

  async removeHistory(channelKey: string): Promise<void> {
    const keys = channelKeys(this.#prefix, channelKey);
    await this.#eval(SCRIPTS.removeHistory, [keys.meta, keys.stream], []);
  }

  async close(): Promise<void> {
    const clients = [this.#commands, this.#subscriber];
    this.#commands = undefined;
    this.#subscriber = undefined;
    this.#notifyToKey.clear();
    await Promise.all(
      clients.map(async (client) => {
        if (!client) return;
        // QUIT waits for replies in flight; a dead link is simply dropped.
        await (client.status === 'ready' ? client.quit().then(() => undefined) : Promise.resolve(client.disconnect())).catch(() => client.disconnect());
      }),
    );
  }

  async #eval(s: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    const client = this.#requireStarted(this.#commands);
    if (this.#inFlight >= this.#maxInFlight) throw new ApiXError('UNAVAILABLE', 'too many commands waiting for Redis; retry');
    this.#inFlight++;
    try {
      return await runScript(client, s, keys, args);
    } catch (error) {
      throw unavailable(error);
    } finally {
      this.#inFlight--;
    }
  }

  #requireStarted(client: RedisClient | undefined): RedisClient {
    if (!client) throw new ApiXError('UNAVAILABLE', 'the Redis engine is not started or already closed');
    return client;
  }

  /** Keys of a channel (for tests and operations tools). */
  keysOf(channelKey: string): ChannelKeys {
    return channelKeys(this.#prefix, channelKey);
  }
}

function newEpoch(): string {
  return randomToken(6);
}
