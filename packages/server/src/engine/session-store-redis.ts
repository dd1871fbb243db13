import { ApiXError, type ChannelName, type StreamPosition, type SubscriptionFilters } from '@apix/protocol';
import { connectRedis, createRedisClient, type RedisClient, type RedisTarget } from './redis-connection.js';
import { assertRedisPrefix, encodeTagContent } from './redis-keys.js';
import { luaScript, runScript } from './redis-script.js';
import type { ClaimOutcome, SessionOwner, SessionStore, SessionUpdate, StoredSubscription } from './session-store.js';

/**
 * One hash per session, `<prefix>:{sess:<id>}`: `o` organisation, `u` user, `w` the owning
 * connection, `q` the attempt number of the last claim that sent one (ADR 0047), and per subscribed channel `p:<channel>` = `<offset>:<epoch>` (present iff
 * subscribed; offset 0 and epoch "" before it went live), `f:<channel>` = filters JSON
 * (only with filters) and `a:<channel>` = "1" (only for an acknowledged subscription). Positions are separate fields so a position write never resends the
 * filters. The hash expires `ttl` after the last write; both scripts check the owner first.
 */
const CLAIM = `
local o = redis.call('HGET', KEYS[1], 'o')
if not o then return 0 end
if o ~= ARGV[1] or redis.call('HGET', KEYS[1], 'u') ~= ARGV[2] then return -1 end
local q = redis.call('HGET', KEYS[1], 'q')
if ARGV[5] ~= '' and q and tonumber(ARGV[5]) < tonumber(q) then return -2 end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'q', ARGV[5]) else redis.call('HDEL', KEYS[1], 'q') end
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'u', ARGV[2], 'w', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('HGETALL', KEYS[1])
`;
/** ARGV: org, user, owner, ttl, number of field/value pairs to set, the pairs, then fields to delete. */
const SAVE = `
local w = redis.call('HGET', KEYS[1], 'w')
if w and w ~= ARGV[3] then return 0 end
if w and (redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'u') ~= ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'u', ARGV[2], 'w', ARGV[3])
local n = tonumber(ARGV[5])
local i = 6
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;
const SCRIPTS = { claim: luaScript(CLAIM), save: luaScript(SAVE) };

export interface RedisSessionStoreOptions extends RedisTarget {
  readonly prefix: string;
}

/** Session state shared by every node of a cluster (ADR 0040). */
export class RedisSessionStore implements SessionStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  private constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  static async connect(options: RedisSessionStoreOptions): Promise<RedisSessionStore> {
    assertRedisPrefix(options.prefix);
    const client = createRedisClient(options, 'apix-sessions');
    client.on('error', () => undefined); // reconnects by itself; calls fail with UNAVAILABLE meanwhile
    await connectRedis(client);
    return new RedisSessionStore(client, options.prefix);
  }

  async claim(owner: SessionOwner, ttlMs: number, attempt?: number): Promise<ClaimOutcome> {
    const reply = await this.#run(SCRIPTS.claim, owner, [owner.organizationId, owner.userId, owner.owner, Math.ceil(ttlMs), attempt === undefined ? '' : String(attempt)]);
    if (reply === -1) return { kind: 'foreign' };
    if (reply === -2) return { kind: 'stale' };
    if (reply === 0) return { kind: 'missing' };
    return { kind: 'claimed', subscriptions: decodeHash(reply as string[]) };
  }

  async save(owner: SessionOwner, update: SessionUpdate, ttlMs: number): Promise<boolean> {
    const set: string[] = [];
    const del: string[] = [];
    for (const [channel, subscription] of update.subscribed) {
      set.push(`p:${channel}`, encodePosition(subscription.position));
      if (subscription.filters) set.push(`f:${channel}`, JSON.stringify(subscription.filters));
      else del.push(`f:${channel}`);
      if (subscription.acknowledgment === true) set.push(`a:${channel}`, '1');
      else del.push(`a:${channel}`);
    }
    for (const [channel, position] of update.positions) {
      if (!update.subscribed.has(channel)) set.push(`p:${channel}`, encodePosition(position));
    }
    for (const channel of update.unsubscribed) del.push(`p:${channel}`, `f:${channel}`, `a:${channel}`);
    const reply = await this.#run(SCRIPTS.save, owner, [owner.organizationId, owner.userId, owner.owner, Math.ceil(ttlMs), set.length / 2, ...set, ...del]);
    return reply === 1;
  }

  async liveSessions(sessionIds: readonly string[]): Promise<ReadonlySet<string>> {
    // One EXISTS per session, sent together: each key has its own tag (slot), so no multi-key command.
    try {
      const found = await Promise.all(sessionIds.map((id) => this.#client.exists(this.#key(id))));
      return new Set(sessionIds.filter((_, i) => found[i] === 1));
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'session store (Redis) did not answer; retry', { cause: error instanceof Error ? error.message : String(error) });
    }
  }

  async close(): Promise<void> {
    await (this.#client.status === 'ready' ? this.#client.quit().then(() => undefined) : Promise.resolve(this.#client.disconnect())).catch(() =>
      this.#client.disconnect(),
    );
  }

  /** The session id is the tag: one key, one slot, on a Redis Cluster too. */
  #key(sessionId: string): string {
    return `${this.#prefix}:{sess:${encodeTagContent(sessionId)}}`;
  }

  async #run(script: typeof SCRIPTS.claim, owner: SessionOwner, args: Array<string | number>): Promise<unknown> {
    try {
      return await runScript(this.#client, script, [this.#key(owner.sessionId)], args);
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'session store (Redis) did not answer; retry', { cause: error instanceof Error ? error.message : String(error) });
    }
  }
}

function encodePosition(position: StreamPosition | undefined): string {
  return position ? `${position.offset}:${position.epoch}` : '0:';
}

/** Offsets are integers and epochs hold no ":" (EPOCH_PATTERN), so the first ":" splits them. */
function decodePosition(value: string): StreamPosition | undefined {
  const colon = value.indexOf(':');
  const offset = Number(value.slice(0, colon));
  const epoch = value.slice(colon + 1);
  return colon > 0 && epoch.length > 0 && Number.isSafeInteger(offset) ? { offset, epoch } : undefined;
}

function decodeHash(flat: readonly string[]): Map<ChannelName, StoredSubscription> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
  const subscriptions = new Map<ChannelName, StoredSubscription>();
  for (const [field, value] of fields) {
    if (!field.startsWith('p:')) continue;
    const channel = field.slice(2);
    const position = decodePosition(value);
    const filters = fields.get(`f:${channel}`);
    subscriptions.set(channel, {
      ...(position ? { position } : {}),
      ...(filters ? { filters: JSON.parse(filters) as SubscriptionFilters } : {}),
      ...(fields.get(`a:${channel}`) === '1' ? { acknowledgment: true } : {}),
    });
  }
  return subscriptions;
}
