import { fullJitterBackoffMs } from '../support/backoff.js';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** How to reach Redis: one server (`url`) or a Redis Cluster (`clusterNodes`). */
export interface RedisTarget {
  readonly url?: string;
  /** `host:port` seed nodes of a Redis Cluster. */
  readonly clusterNodes?: readonly string[];
}

/** A command that gets no reply within this long fails (Redis stalled): callers see UNAVAILABLE. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;
/** Reconnect backoff: grows by this per attempt, capped. */
const RECONNECT_STEP_MS = 100;
const RECONNECT_MAX_MS = 2_000;

export type RedisClient = Redis | Cluster;

/**
 * Connection settings that keep memory bounded and writes single when Redis is slow or gone:
 * - no offline queue: a command issued while disconnected fails at once instead of waiting
 *   in an unbounded queue;
 * - `maxRetriesPerRequest: 0` and no resend of unfulfilled commands: a command in flight
 *   when the link drops fails, and is never sent a second time by ioredis after the
 *   reconnect (a resent publish script would append twice; the caller retries with its
 *   idempotency key instead);
 * - a command timeout, so a stalled server (SIGSTOP, long fork) fails commands fast.
 */
const SAFE_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  lazyConnect: true,
} as const satisfies RedisOptions;

/**
 * ioredis' reconnect delay: the shared full-jitter backoff (support/backoff.ts), so the nodes of
 * a cluster that lost Redis together do not reconnect in lockstep. ioredis counts from 1.
 */
const retryStrategy = (attempt: number) => Math.round(fullJitterBackoffMs(Math.max(attempt - 1, 0), { baseMs: RECONNECT_STEP_MS, factor: 2, capMs: RECONNECT_MAX_MS }));

export function parseClusterNodes(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export interface RedisClientOverrides {
  /** Shorter command timeout, for callers that have a fallback and must not hold a request for long (quota checks). */
  readonly commandTimeoutMs?: number;
  /**
   * ioredis auto-pipelining: the commands issued within one event-loop turn leave in one write
   * (and one batch at a time per connection). For clients that issue many small independent
   * commands from many tasks at once — the durable consumers' reads and acks, one per
   * subscriber per wake-up — where one write per command was a fifth of the server's CPU.
   */
  readonly autoPipelining?: boolean;
}

/** Creates a client (not yet connected: call `connectRedis`). `name` shows in CLIENT LIST. */
export function createRedisClient(target: RedisTarget, name: string, overrides: RedisClientOverrides = {}): RedisClient {
  const commandTimeout = overrides.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
  const enableAutoPipelining = overrides.autoPipelining === true;
  if (target.clusterNodes && target.clusterNodes.length > 0) {
    const nodes = target.clusterNodes.map((hostPort) => {
      const colon = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
    });
    const { enableOfflineQueue: _omit, lazyConnect, ...redisOptions } = SAFE_OPTIONS;
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      lazyConnect,
      clusterRetryStrategy: retryStrategy,
      enableAutoPipelining,
      redisOptions: { ...redisOptions, commandTimeout, connectionName: name },
    };
    return new Cluster(nodes, options);
  }
  if (!target.url) throw new TypeError('a Redis target needs url or clusterNodes');
  return new Redis(target.url, { ...SAFE_OPTIONS, commandTimeout, retryStrategy, connectionName: name, enableAutoPipelining });
}

/** Connects and waits until the client is ready, or fails after the connect timeout. */
export async function connectRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return;
  await client.connect();
  if ((client.status as string) === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis did not become ready in time')), REDIS_CONNECT_TIMEOUT_MS * 2);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
