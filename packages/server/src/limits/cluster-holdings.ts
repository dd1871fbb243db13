import { connectRedis, createRedisClient, type RedisClient, type RedisTarget } from '../engine/redis-connection.js';
import { assertRedisPrefix, encodeTagContent } from '../engine/redis-keys.js';
import { luaScript, runScript } from '../engine/redis-script.js';

/** What an organisation holds that a quota bounds cluster-wide, counted per node. */
export type HoldingKind = 'connections' | 'subscriptions';

/**
 * The cluster's view of what each organisation holds: every node reports its own count
 * (absolute, never a delta, so a lost write cannot drift the total) under a lease; a node that
 * dies stops renewing and its counts drop out after the lease. Implementations: Redis (a
 * cluster). One node needs none: its own counts are the whole truth.
 */
export interface HoldingsLedger {
  /**
   * Records `nodeTotal` as this node's count of `kind` for the organisation if the cluster's
   * total (the other live nodes' counts + `nodeTotal`) stays within `limit`, and resolves true;
   * resolves false (nothing recorded) when it would not. Rejects when the store cannot answer
   * within its short timeout — the caller decides (see QuotaUsage: per-node counting).
   */
  admit(kind: HoldingKind, organizationId: string, nodeTotal: number, limit: number): Promise<boolean>;
  /** Records this node's count without a check (after a release, and lease renewals). */
  record(entries: ReadonlyArray<{ kind: HoldingKind; organizationId: string; nodeTotal: number }>): Promise<void>;
  close(): Promise<void>;
}

/**
 * KEYS: counts hash, lease hash (field: node id; value: count / lease end in Redis ms).
 * ARGV: node id, this node's total, limit (-1: no check), lease (ms).
 * Expired nodes' fields are dropped on the way. Returns 1 when recorded, 0 when over the limit.
 * O(nodes in the cluster): the hash holds one field per live node that has the organisation.
 */
const ADMIT_SCRIPT = luaScript(`
local counts, leases = KEYS[1], KEYS[2]
local node, total, limit, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local others = 0
local all = redis.call('HGETALL', leases)
for i = 1, #all, 2 do
  local field = all[i]
  if tonumber(all[i + 1]) < now then
    redis.call('HDEL', leases, field)
    redis.call('HDEL', counts, field)
  elseif field ~= node then
    others = others + (tonumber(redis.call('HGET', counts, field)) or 0)
  end
end
if limit >= 0 and others + total > limit then return 0 end
if total > 0 then
  redis.call('HSET', counts, node, total)
  redis.call('HSET', leases, node, now + lease)
  -- Every write pushes the keys' expiry past every live lease: an abandoned hash goes by itself.
  redis.call('PEXPIRE', counts, lease)
  redis.call('PEXPIRE', leases, lease)
else
  redis.call('HDEL', counts, node)
  redis.call('HDEL', leases, node)
end
return 1
`);

/**
 * KEYS: the organisation's channel set (sorted set: channel key → lease end, Redis ms).
 * ARGV: channel key, limit, lease (ms). Drops expired channels, then admits the channel when
 * it is already counted or there is room, renewing its lease. Returns 1 admitted, 0 refused.
 */
const CHANNEL_SCRIPT = luaScript(`
local set, channel, limit, lease = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
if not redis.call('ZSCORE', set, channel) and redis.call('ZCARD', set) >= limit then return 0 end
redis.call('ZADD', set, now + lease, channel)
redis.call('PEXPIRE', set, lease)
return 1
`);

export interface RedisHoldingsOptions extends RedisTarget {
  readonly prefix: string;
  readonly nodeId: string;
  /** How long a node's counts count without renewal (it renews every third of it). */
  readonly leaseMs: number;
  /** A command that gets no answer within this long fails (the caller falls back at once). */
  readonly commandTimeoutMs: number;
}

/**
 * Holdings in Redis: per organisation and kind, a hash of node → count and a hash of node →
 * lease end, both in the organisation's own hash slot (`{q:<org>}`), so the check-and-record
 * is one atomic script on a single Redis and on a Redis Cluster alike.
 */
export class RedisHoldings implements HoldingsLedger {
  readonly #options: RedisHoldingsOptions;
  readonly #client: RedisClient;

  private constructor(options: RedisHoldingsOptions, client: RedisClient) {
    this.#options = options;
    this.#client = client;
  }

  static async connect(options: RedisHoldingsOptions, onError: (error: unknown) => void = () => undefined): Promise<RedisHoldings> {
    assertRedisPrefix(options.prefix);
    const client = createRedisClient(options, 'apix-quotas', { commandTimeoutMs: options.commandTimeoutMs });
    client.on('error', onError);
    await connectRedis(client);
    return new RedisHoldings(options, client);
  }

  get leaseMs(): number {
    return this.#options.leaseMs;
  }

  async admit(kind: HoldingKind, organizationId: string, nodeTotal: number, limit: number): Promise<boolean> {
    return (await this.#run(kind, organizationId, nodeTotal, limit)) === 1;
  }

  async record(entries: ReadonlyArray<{ kind: HoldingKind; organizationId: string; nodeTotal: number }>): Promise<void> {
    await Promise.all(entries.map((e) => this.#run(e.kind, e.organizationId, e.nodeTotal, -1)));
  }

  /**
   * Counts `channelKey` among the organisation's channels for `leaseMs` (renewed by each call)
   * if it is counted already or the organisation has fewer than `limit`; false otherwise.
   */
  async admitChannel(organizationId: string, channelKey: string, limit: number, leaseMs: number): Promise<boolean> {
    const key = `${this.#options.prefix}:{q:${encodeTagContent(organizationId)}}:channels`;
    return Number(await runScript(this.#client, CHANNEL_SCRIPT, [key], [channelKey, limit, leaseMs])) === 1;
  }

  async close(): Promise<void> {
    const client = this.#client;
    await (client.status === 'ready' ? client.quit().then(() => undefined) : Promise.resolve(client.disconnect())).catch(() => client.disconnect());
  }

  async #run(kind: HoldingKind, organizationId: string, nodeTotal: number, limit: number): Promise<number> {
    const base = `${this.#options.prefix}:{q:${encodeTagContent(organizationId)}}:${kind}`;
    const reply = await runScript(this.#client, ADMIT_SCRIPT, [base, `${base}:lease`], [this.#options.nodeId, nodeTotal, limit, this.#options.leaseMs]);
    return Number(reply);
  }
}
