import { ApiXError } from '@apix/protocol';
import { connectRedis, createRedisClient, type RedisClient, type RedisTarget } from './redis-connection.js';
import { luaScript, runScript, type LuaScript } from './redis-script.js';
import { assertRedisPrefix, channelKeys, DEFAULT_REDIS_PREFIX } from './redis-keys.js';
import { DEFAULT_PRESENCE_TTL_MS, statsOf, type PresenceCloser, type PresenceManager, type PresenceMember, type PresenceStats } from './presence.js';

/**
 * Per channel: a hash (client id → member JSON) and a sorted set (client id → expiry, Redis
 * clock, ms). Expired members are dropped by every script that touches the channel; both keys
 * expire with the latest member, so a channel whose every node died vanishes by itself.
 */
const EXPIRE = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- In batches: unpack() of a huge list would overflow the Lua stack.
local function expire(data, expiry, at)
  repeat
    local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', at, 'LIMIT', 0, 1000)
    if #gone > 0 then
      redis.call('HDEL', data, unpack(gone))
      redis.call('ZREM', expiry, unpack(gone))
    end
  until #gone < 1000
end
`;
/** KEYS data, expiry; ARGV client id, member JSON, ttl ms. */
const ADD = `${EXPIRE}
local at = now()
expire(KEYS[1], KEYS[2], at)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], at + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;
/** KEYS data, expiry; ARGV client id. */
const REMOVE = `${EXPIRE}
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
expire(KEYS[1], KEYS[2], now())
return 1
`;
/** KEYS data, expiry. Returns the member JSONs. */
const LIST = `${EXPIRE}
expire(KEYS[1], KEYS[2], now())
return redis.call('HVALS', KEYS[1])
`;

const SCRIPTS = { add: luaScript(ADD), remove: luaScript(REMOVE), list: luaScript(LIST) };

export interface RedisPresenceOptions extends RedisTarget {
  readonly prefix?: string;
  readonly memberTtlMs?: number;
}

/** Presence shared by every node of a cluster, on one Redis or a Redis Cluster. */
export class RedisPresenceManager implements PresenceManager, PresenceCloser {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #ttlMs: number;

  private constructor(client: RedisClient, prefix: string, ttlMs: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
  }

  static async connect(options: RedisPresenceOptions): Promise<RedisPresenceManager> {
    const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    assertRedisPrefix(prefix);
    const client = createRedisClient(options, 'apix-presence');
    client.on('error', () => undefined); // reconnects by itself; calls fail with UNAVAILABLE meanwhile
    await connectRedis(client);
    return new RedisPresenceManager(client, prefix, options.memberTtlMs ?? DEFAULT_PRESENCE_TTL_MS);
  }

  async add(channelKey: string, member: PresenceMember): Promise<void> {
    const json = JSON.stringify({ clientId: member.clientId, userId: member.userId, ...(member.info ? { info: member.info } : {}) });
    await this.#eval(SCRIPTS.add, channelKey, [member.clientId, json, this.#ttlMs]);
  }

  async remove(channelKey: string, clientId: string): Promise<void> {
    await this.#eval(SCRIPTS.remove, channelKey, [clientId]);
  }

  async list(channelKey: string): Promise<PresenceMember[]> {
    const values = (await this.#eval(SCRIPTS.list, channelKey, [])) as string[];
    return values.map((v) => JSON.parse(v) as PresenceMember);
  }

  async stats(channelKey: string): Promise<PresenceStats> {
    return statsOf(await this.list(channelKey));
  }

  async close(): Promise<void> {
    await (this.#client.status === 'ready' ? this.#client.quit().then(() => undefined) : Promise.resolve(this.#client.disconnect())).catch(() =>
      this.#client.disconnect(),
    );
  }

  async #eval(s: LuaScript, channelKey: string, args: Array<string | number>): Promise<unknown> {
    const keys = channelKeys(this.#prefix, channelKey);
    try {
      return await runScript(this.#client, s, [keys.presenceData, keys.presenceExpiry], args);
    } catch (error) {
      throw new ApiXError('UNAVAILABLE', 'presence store (Redis) did not answer; retry', { cause: error instanceof Error ? error.message : String(error) });
    }
  }
}
