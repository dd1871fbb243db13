import type { ControlBus, ControlMessage, ControlMessageHandler } from './control-bus.js';
import { connectRedis, createRedisClient, type RedisClient, type RedisTarget } from './redis-connection.js';
import { assertRedisPrefix, clusterKeys, DEFAULT_REDIS_PREFIX } from './redis-keys.js';

export interface RedisControlBusOptions extends RedisTarget {
  /** This node's id: the origin of the `resync` it tells itself after a reconnect. */
  readonly nodeId: string;
  readonly prefix?: string;
  readonly onError?: (error: unknown, context: string) => void;
}

const KINDS = new Set(['membership', 'api-key', 'channel', 'organization', 'user']);

/** Accepts only well-formed messages: another node may run another version. */
function parseControlMessage(raw: string): ControlMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as { type?: unknown; origin?: unknown; change?: { kind?: unknown }; organizationId?: unknown; key?: unknown; group?: unknown; sessionId?: unknown; connectionId?: unknown };
  if (typeof message.origin !== 'string') return undefined;
  if (message.type === 'resync') return message as ControlMessage;
  if (message.type === 'acknowledged-released') return typeof message.key === 'string' && typeof message.group === 'string' ? (message as ControlMessage) : undefined;
  if (message.type === 'session-claimed') return typeof message.sessionId === 'string' && typeof message.connectionId === 'string' ? (message as ControlMessage) : undefined;
  if (message.type === 'quotas-changed') return typeof message.organizationId === 'string' ? (message as ControlMessage) : undefined;
  if (message.type === 'access-changed' && typeof message.change === 'object' && message.change !== null && KINDS.has(String(message.change.kind))) {
    return message as ControlMessage;
  }
  return undefined;
}

/**
 * The control channel of a cluster over Redis Pub/Sub: every node (the sender included)
 * receives every message. Pub/Sub drops what is sent while a node's link is down, so after
 * every reconnect the bus delivers `resync` to its own node, which reloads what it caches.
 */
export class RedisControlBus implements ControlBus {
  readonly #options: RedisControlBusOptions;
  readonly #channel: string;
  readonly #onError: (error: unknown, context: string) => void;
  #publisher: RedisClient | undefined;
  #subscriber: RedisClient | undefined;

  constructor(options: RedisControlBusOptions) {
    const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    assertRedisPrefix(prefix);
    this.#options = options;
    this.#channel = clusterKeys(prefix).control;
    this.#onError = options.onError ?? (() => undefined);
  }

  async start(handler: ControlMessageHandler): Promise<void> {
    const publisher = createRedisClient(this.#options, 'apix-control');
    const subscriber = createRedisClient(this.#options, 'apix-control-sub');
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    publisher.on('error', (error: unknown) => this.#onError(error, 'control bus publisher link'));
    subscriber.on('error', (error: unknown) => this.#onError(error, 'control bus subscriber link'));
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.#channel) return;
      const message = parseControlMessage(raw);
      if (message) handler(message);
      else this.#onError(new Error('malformed control message dropped'), raw.slice(0, 200));
    });
    let connectedOnce = false;
    subscriber.on('ready', () => {
      if (connectedOnce) handler({ type: 'resync', origin: this.#options.nodeId });
      connectedOnce = true;
    });
    await Promise.all([connectRedis(publisher), connectRedis(subscriber)]);
    await subscriber.subscribe(this.#channel);
  }

  async publish(message: ControlMessage): Promise<void> {
    if (!this.#publisher) throw new Error('control bus not started');
    await this.#publisher.publish(this.#channel, JSON.stringify(message));
  }

  async close(): Promise<void> {
    const clients = [this.#publisher, this.#subscriber];
    this.#publisher = undefined;
    this.#subscriber = undefined;
    await Promise.all(
      clients.map((client) =>
        client ? (client.status === 'ready' ? client.quit().then(() => undefined) : Promise.resolve(client.disconnect())).catch(() => client.disconnect()) : undefined,
      ),
    );
  }
}
