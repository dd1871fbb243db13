import { Redis } from 'ioredis';

/** Longest a rate-limit check waits for Redis before counting in memory instead. */
const RATE_LIMIT_COMMAND_TIMEOUT_MS = 500;
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { FlexibleRateLimiter } from './flexible-rate-limiter.js';
import type { RateLimitRule, RateLimiter, RateLimiterStore } from './rate-limiter.js';

export interface RedisRateLimiterStoreOptions {
  /** `redis://…` */
  readonly url: string;
  /** Prepended to every key, so several installations (or test runs) can share one Redis. */
  readonly keyPrefix: string;
}

/**
 * Counters in Redis (`RateLimiterRedis`: one Lua INCRBY+PEXPIRE per consume), shared by every
 * node: a limit holds across the cluster. When Redis is unreachable each node falls back to
 * its own memory counters (the library's insurance limiter) rather than refusing everyone or
 * letting everything through; commands are not queued while disconnected, so a Redis outage
 * never makes a request wait.
 */
export class RedisRateLimiterStore implements RateLimiterStore {
  readonly kind = 'redis';
  readonly #client: Redis;
  readonly #keyPrefix: string;
  readonly #limiters = new Map<string, RateLimiter>();

  constructor(options: RedisRateLimiterStoreOptions) {
    this.#keyPrefix = options.keyPrefix;
    // A stalled Redis (SIGSTOP, a full network buffer) keeps the connection "ready" while no
    // command returns: without a command timeout every request would wait on it. With one, the
    // command fails fast and the insurance limiter (this process's memory) counts instead.
    // Auto-pipelining: the checks of one request (a publish makes three at once) and of
    // concurrent requests leave in one write instead of one system call each — a write per
    // check was the largest single cost of an HTTP publish at 1,000/s in the failover profile.
    this.#client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
      commandTimeout: RATE_LIMIT_COMMAND_TIMEOUT_MS,
      autoResendUnfulfilledCommands: false,
      enableAutoPipelining: true,
    });
    // Connection errors are reported by failing consumes (answered by the insurance limiter).
    this.#client.on('error', () => {});
  }

  /** Resolves once the connection is up (start-up and tests). */
  async ready(timeoutMs = 5_000): Promise<void> {
    if (this.#client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Redis not ready after ${timeoutMs} ms`)), timeoutMs);
      this.#client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  limiter(name: string, rule: RateLimitRule): RateLimiter {
    const id = `${name}:${rule.points}/${rule.durationSeconds}`;
    let limiter = this.#limiters.get(id);
    if (limiter === undefined) {
      const options = { keyPrefix: `${this.#keyPrefix}:${id}`, points: rule.points, duration: rule.durationSeconds };
      limiter = new FlexibleRateLimiter(
        new RateLimiterRedis({ ...options, storeClient: this.#client, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) }),
      );
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }

  async close(): Promise<void> {
    this.#limiters.clear();
    await this.#client.quit().catch(() => this.#client.disconnect());
  }
}
