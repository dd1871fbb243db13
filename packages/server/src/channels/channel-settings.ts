import { channelPermissionsSchema, type ChannelPermissions } from '@apix/protocol';
import type { ChannelRepository } from '../storage/channel-repository.js';
import type { AuditPublishMode, ChannelRow } from '../storage/schema.js';
import type { PermissionCacheSettings } from '../identity/access-directory.js';
import { RefreshingCache } from '../support/refreshing-cache.js';

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
  /** Loads the channel's row again (after a change event); on failure the last known settings stay. */
  reload(organizationId: string, channel: string): Promise<void>;
  /** Everything may have changed (the change feed may have lost messages): refresh each row on its next use. */
  markAllStale(): void;
}

/** No stored channels: every channel runs on defaults. */
export const NO_CHANNEL_SETTINGS: ChannelSettingsSource = {
  get: async () => undefined,
  reload: async () => undefined,
  markAllStale: () => undefined,
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

/**
 * Channel rows, loaded once per (organisation, name) and kept until a change event names the
 * channel; channels without a row are cached too (made-up names are client input: the cache
 * is bounded). See RefreshingCache for what holds while storage is down.
 */
export class StoredChannelSettings implements ChannelSettingsSource {
  readonly #channels: ChannelRepository;
  readonly #cache: RefreshingCache<ChannelSettings | undefined>;

  constructor(channels: ChannelRepository, settings: PermissionCacheSettings, onStale?: (organizationId: string, channel: string) => void) {
    this.#channels = channels;
    this.#cache = new RefreshingCache({
      ...settings,
      onChanged: (key) => {
        const at = key.indexOf('\u0000');
        onStale?.(key.slice(0, at), key.slice(at + 1));
      },
    });
  }

  async get(organizationId: string, channel: string): Promise<ChannelSettings | undefined> {
    return this.#cache.get(`${organizationId}\u0000${channel}`, this.#load);
  }

  async reload(organizationId: string, channel: string): Promise<void> {
    const key = `${organizationId}\u0000${channel}`;
    if (this.#cache.peek(key) === undefined) {
      this.#cache.invalidate((k) => k === key);
      return;
    }
    await this.#cache.reload(key, this.#load).catch(() => undefined);
  }

  markAllStale(): void {
    this.#cache.markStale();
  }

  /** Channels held in the cache (bounded by the cache's maxEntries). */
  get cachedEntries(): number {
    return this.#cache.size;
  }

  readonly #load = async (key: string): Promise<ChannelSettings | undefined> => {
    const at = key.indexOf('\u0000');
    const row = await this.#channels.findByName(key.slice(0, at), key.slice(at + 1));
    return row ? toChannelSettings(row) : undefined;
  };
}
