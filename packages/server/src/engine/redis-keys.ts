/**
 * Where a channel lives in Redis. Every key of one channel shares the hash tag `{…}`, so
 * they sit in one hash slot and one Lua script may touch them all on a Redis Cluster too.
 *
 * Injectivity: the broker's channel key is already injective in (organisation, channel).
 * Inside the tag it is percent-encoded for `%`, `{` and `}` only — an injective encoding
 * whose output has no brace, so the tag always ends where the channel key ends and two
 * channels never share a tag. The prefix is validated to hold no brace either.
 */
export interface ChannelKeys {
  /** Hash: `e` epoch, `t` top offset, `l` last append time (ms), `a` age retention (ms). */
  readonly meta: string;
  /** The channel's log. Entry ids are `<offset>-<append time in ms>`. */
  readonly stream: string;
  /** Pub/Sub channel carrying `<offset>:<epoch>:<ms>:<data>` for each append. */
  readonly notify: string;
  /** Idempotency record of one publish key (same slot as the stream). */
  idempotency(key: string): string;
  /** Presence: members' data (hash) and their expiry times (sorted set). */
  readonly presenceData: string;
  readonly presenceExpiry: string;
}

export const DEFAULT_REDIS_PREFIX = 'apix';
// Room for the suffixes APIX adds (`:sys` for the node registry) to a 64-character REDIS_KEY_PREFIX.
const PREFIX = /^[A-Za-z0-9_.:-]{1,80}$/;

export function assertRedisPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) throw new TypeError(`redis key prefix must be 1-80 of A-Z a-z 0-9 _ . : - (got ${JSON.stringify(prefix)})`);
}

/** Percent-encodes `%`, `{` and `}`: injective, and the result has no brace. */
export function encodeTagContent(channelKey: string): string {
  return channelKey.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function channelKeys(prefix: string, channelKey: string): ChannelKeys {
  const base = `${prefix}:{${encodeTagContent(channelKey)}}`;
  return {
    meta: `${base}:m`,
    stream: `${base}:s`,
    notify: `${base}:n`,
    idempotency: (key) => `${base}:i:${key}`,
    presenceData: `${base}:p`,
    presenceExpiry: `${base}:pz`,
  };
}

/** The slot-sharing keys of cluster-wide records (node registry, control bus). */
export function clusterKeys(prefix: string) {
  const base = `${prefix}:{cluster}`;
  return { nodes: `${base}:nodes`, nodeInfo: `${base}:node-info`, control: `${base}:control` };
}
