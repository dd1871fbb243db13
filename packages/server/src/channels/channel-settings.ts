import { channelPermissionsSchema, type ChannelPermissions } from '@apix/protocol';
import type { ChannelRepository } from '../storage/channel-repository.js';
import type { AuditPublishMode, ChannelRow } from '../storage/schema.js';
import { TtlCache, type TtlCacheOptions } from '../support/ttl-cache.js';

/** What the data plane needs of a channel's stored configuration. */
export interface ChannelSettings {
  readonly permissions: ChannelPermissions | undefined;
  readonly historySize: number | null;
  readonly historyTtlMs: number | null;
  readonly acknowledgmentRequired: boolean;
  readonly persistEvents: boolean;
  readonly auditPublishMode: AuditPublishMode;
  readonly auditSampleRate: number;
  /** Only encrypted envelopes may be published (docs/encryption.md). */
  readonly encrypted?: boolean;
}

export interface ChannelSettingsSource {
  /** The channel's settings, or undefined when it has no row (defaults apply). */
  get(organizationId: string, channel: string): Promise<ChannelSettings | undefined>;
  invalidate(organizationId: string): void;
}

/** No stored channels: every channel runs on defaults. */
export const NO_CHANNEL_SETTINGS: ChannelSettingsSource = {
  get: async () => undefined,
  invalidate: () => undefined,
};

export function toChannelSettings(row: ChannelRow): ChannelSettings {
  const permissions = channelPermissionsSchema.safeParse(row.permissions);
  return {
    // A row whose permissions don't parse grants nothing beyond PRIVATE_USER's rule: fail closed.
    permissions: permissions.success ? permissions.data : { subscribe: [], publish: [], history: [], presence: [] },
    historySize: row.historySize,
    historyTtlMs: row.historyTtlMs,
    acknowledgmentRequired: row.acknowledgmentRequired,
    persistEvents: row.persistEvents,
    auditPublishMode: row.auditPublishMode,
    auditSampleRate: row.auditSampleRate,
    encrypted: row.encrypted,
  };
}

/** Channel rows, cached per (organisation, name) for `ttlMs` so permission checks don't query per frame. */
export class StoredChannelSettings implements ChannelSettingsSource {
  readonly #channels: ChannelRepository;
  readonly #cache: TtlCache<string, ChannelSettings | undefined>;

  /** Keyed by channel names clients send, made-up ones included: bounded (TtlCache's LRU cap). */
  constructor(channels: ChannelRepository, ttlMs: number, cacheOptions?: TtlCacheOptions) {
    this.#channels = channels;
    this.#cache = new TtlCache(ttlMs, cacheOptions);
  }

  /** Entries cached now (tests of the bound). */
  get cachedEntries(): number {
    return this.#cache.size;
  }

  get(organizationId: string, channel: string): Promise<ChannelSettings | undefined> {
    return this.#cache.get(`${organizationId}/${channel}`, async () => {
      const row = await this.#channels.findByName(organizationId, channel);
      return row ? toChannelSettings(row) : undefined;
    });
  }

  invalidate(organizationId: string): void {
    this.#cache.invalidate((key) => key.startsWith(`${organizationId}/`));
  }
}
