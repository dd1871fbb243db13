import { channelPermissionsSchema, deliveryPolicySchema, type ChannelPermissions } from '@apix/protocol';
import type { ChannelRepository } from '../storage/channel-repository.js';
import type { AuditPublishMode, ChannelRow } from '../storage/schema.js';
import type { PermissionCacheSettings } from '../identity/access-directory.js';
import { RefreshingCache } from '../support/refreshing-cache.js';
import type { DeliveryPolicy } from '../realtime/delivery-policy.js';

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
  /** Redelivery of acknowledged subscriptions; fields left out take the server's ACK_* values. */
  readonly deliveryPolicy?: Partial<DeliveryPolicy>;
  /** Presence on/off; null or absent: the namespace's default (see presenceEnabled). */
  readonly presence?: boolean | null;
}

export interface ChannelSettingsSource {
  /** The channel's settings, or undefined when it has no row (defaults apply). */
  get(organizationId: string, channel: string): Promise<ChannelSettings | undefined>;
  /** Loads the channel's row again (after a change event); on failure the last known settings stay. */
  reload(organizationId: string, channel: string): Promise<void>;
  /** Everything may have changed (the change feed may have lost messages): refresh each row on its next use. */
  markAllStale(): void;
}

/** Namespaces whose channels carry presence unless their settings say otherwise: rooms are for collaborative work. */
export const PRESENCE_NAMESPACES: ReadonlySet<string> = new Set(['room']);

/**
 * Whether a channel carries presence (members, presence.join/leave, the presence request):
 * its stored `presence` setting when it has one, else on for the PRESENCE_NAMESPACES only.
 */
export function presenceEnabled(namespace: string, settings: Pick<ChannelSettings, 'presence'> | undefined): boolean {
  return settings?.presence ?? PRESENCE_NAMESPACES.has(namespace);
}

/** No stored channels: every channel runs on defaults. */
export const NO_CHANNEL_SETTINGS: ChannelSettingsSource = {
  get: async () => undefined,
  reload: async () => undefined,
  markAllStale: () => undefined,
};

export function toChannelSettings(row: ChannelRow): ChannelSettings {
  const permissions = channelPermissionsSchema.safeParse(row.permissions);
  // A stored policy that no longer parses falls back to the server's defaults (they are safe ones).
  const deliveryPolicy = row.deliveryPolicy === null ? undefined : deliveryPolicySchema.safeParse(row.deliveryPolicy);
  return {
    ...(deliveryPolicy?.success ? { deliveryPolicy: deliveryPolicy.data as Partial<DeliveryPolicy> } : {}),
    // A row whose permissions don't parse grants nothing beyond PRIVATE_USER's rule: fail closed.
    permissions: permissions.success ? permissions.data : { subscribe: [], publish: [], history: [], presence: [] },
    historySize: row.historySize,
    historyTtlMs: row.historyTtlMs,
    acknowledgmentRequired: row.acknowledgmentRequired,
    persistEvents: row.persistEvents,
    auditPublishMode: row.auditPublishMode,
    auditSampleRate: row.auditSampleRate,
    encrypted: row.encrypted,
    presence: row.presence,
  };
}

/** An organisation's channel rows: all of them, or the first MAX_PRELOADED_CHANNEL_ROWS. */
interface OrganizationChannels {
  readonly rows: ReadonlyMap<string, ChannelSettings>;
  /** False when the organisation has more rows than were loaded: names not among them are looked up one by one. */
  readonly complete: boolean;
}

/** Rows loaded per organisation at most; past it, lookups fall back to one row at a time. */
export const MAX_PRELOADED_CHANNEL_ROWS = 10_000;
const PAGE = 1_000;

const sameRows = (a: OrganizationChannels, b: OrganizationChannels) =>
  a.complete === b.complete && JSON.stringify([...a.rows]) === JSON.stringify([...b.rows]);

/**
 * Channel rows, loaded once per organisation — every row it has (they are created by admins,
 * so there are few) — and kept until a change event names one of its channels. A channel
 * name that is not among them has no row: one query per organisation, not one per channel,
 * so ten thousand first-time subscribes to `user:<id>` channels cost no query each. The
 * cache is bounded in organisations; an organisation with more rows than
 * MAX_PRELOADED_CHANNEL_ROWS falls back to a bounded per-channel cache for the rest. See
 * RefreshingCache for what holds while storage is down.
 */
export class StoredChannelSettings implements ChannelSettingsSource {
  readonly #channels: ChannelRepository;
  readonly #organizations: RefreshingCache<OrganizationChannels>;
  readonly #single: RefreshingCache<ChannelSettings | undefined>;

  constructor(channels: ChannelRepository, settings: PermissionCacheSettings, onStale?: (organizationId: string, channel: string) => void) {
    this.#channels = channels;
    this.#organizations = new RefreshingCache<OrganizationChannels>({
      ...settings,
      equals: sameRows,
      onChanged: (organizationId, next, previous) => {
        for (const name of new Set([...next.rows.keys(), ...previous.rows.keys()])) {
          if (JSON.stringify(next.rows.get(name)) !== JSON.stringify(previous.rows.get(name))) onStale?.(organizationId, name);
        }
      },
    });
    this.#single = new RefreshingCache({
      ...settings,
      onChanged: (key) => {
        const at = key.indexOf('\u0000');
        onStale?.(key.slice(0, at), key.slice(at + 1));
      },
    });
  }

  async get(organizationId: string, channel: string): Promise<ChannelSettings | undefined> {
    const organization = await this.#organizations.get(organizationId, this.#loadOrganization);
    if (organization.complete || organization.rows.has(channel)) return organization.rows.get(channel);
    return this.#single.get(`${organizationId}\u0000${channel}`, this.#loadOne);
  }

  async reload(organizationId: string, channel: string): Promise<void> {
    if (this.#organizations.peek(organizationId) !== undefined) {
      await this.#organizations.reload(organizationId, this.#loadOrganization).catch(() => undefined);
    }
    const key = `${organizationId}\u0000${channel}`;
    if (this.#single.peek(key) !== undefined) await this.#single.reload(key, this.#loadOne).catch(() => undefined);
  }

  markAllStale(): void {
    this.#organizations.markStale();
    this.#single.markStale();
  }

  /** Organisations and single channels held in the caches (each bounded by maxEntries). */
  get cachedEntries(): number {
    return this.#organizations.size + this.#single.size;
  }

  readonly #loadOrganization = async (organizationId: string): Promise<OrganizationChannels> => {
    const rows = new Map<string, ChannelSettings>();
    let afterName: string | undefined;
    while (rows.size < MAX_PRELOADED_CHANNEL_ROWS) {
      const page = await this.#channels.list(organizationId, { limit: PAGE, ...(afterName !== undefined ? { afterName } : {}) });
      for (const row of page) rows.set(row.name, toChannelSettings(row));
      if (page.length < PAGE) return { rows, complete: true };
      afterName = page.at(-1)!.name;
    }
    return { rows, complete: false };
  };

  readonly #loadOne = async (key: string): Promise<ChannelSettings | undefined> => {
    const at = key.indexOf('\u0000');
    const row = await this.#channels.findByName(key.slice(0, at), key.slice(at + 1));
    return row ? toChannelSettings(row) : undefined;
  };
}
