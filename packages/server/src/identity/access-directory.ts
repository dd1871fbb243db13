import type { AccessChange } from '../engine/control-bus.js';
import type { Repositories } from '../storage/repositories.js';
import { RefreshingCache, type RefreshingCacheOptions } from '../support/refreshing-cache.js';
import type { Principal } from './principal.js';

/**
 * Answers "may this principal still act in its organisation, and with which roles?" — asked
 * on every permission check and when a change event names the principal.
 */
export interface AccessDirectory {
  /** Current roles, or null when the principal has lost access (membership removed, user disabled, API key revoked). */
  effectiveRoles(principal: Principal): Promise<readonly string[] | null>;
  /** Loads what the change names again (or forgets it), so the next answer is current. */
  applyChange(change: AccessChange): Promise<void>;
  /** Everything may have changed (the change feed may have lost messages): refresh each answer on its next use. */
  markAllStale(): void;
}

/** Tokens are the whole truth: used when there is no storage (tests of the data plane alone). */
export class TokenClaimsDirectory implements AccessDirectory {
  async effectiveRoles(principal: Principal): Promise<readonly string[] | null> {
    return principal.roles;
  }
  async applyChange(): Promise<void> {}
  markAllStale(): void {}
}

export type PermissionCacheSettings = Omit<RefreshingCacheOptions<unknown>, 'onChanged' | 'equals' | 'now'>;

/**
 * Membership lives in storage for organisations APIX manages (those with a row in
 * `organizations`): there, roles come from the membership row and a removed member or a
 * disabled user loses access even though their token is still valid. Organisations known
 * only from a trusted issuer's tokens (an external JWKS, dev tokens) keep the token's roles.
 *
 * Every answer is loaded once and kept (bounded, least recently used first out) until a
 * change event names it; a storage outage leaves the last known answer in force (see
 * RefreshingCache). `onStale` reports answers that changed without an event (found by a
 * background refresh), so the caller can re-check the connections they concern.
 */
export class StoredAccessDirectory implements AccessDirectory {
  readonly #repositories: Repositories;
  readonly #managed: RefreshingCache<boolean>;
  readonly #members: RefreshingCache<readonly string[] | null>;
  readonly #apiKeys: RefreshingCache<boolean>;

  constructor(repositories: Repositories, settings: PermissionCacheSettings, onStale?: (change: AccessChange) => void) {
    this.#repositories = repositories;
    this.#managed = new RefreshingCache({ ...settings, onChanged: (org) => onStale?.({ kind: 'organization', organizationId: org }) });
    this.#members = new RefreshingCache({
      ...settings,
      onChanged: (key) => {
        const [organizationId, userId] = splitKey(key);
        onStale?.({ kind: 'membership', organizationId, userId });
      },
    });
    this.#apiKeys = new RefreshingCache({
      ...settings,
      onChanged: (key) => {
        const [organizationId, apiKeyId] = splitKey(key);
        onStale?.({ kind: 'api-key', organizationId, apiKeyId });
      },
    });
  }

  async effectiveRoles(principal: Principal): Promise<readonly string[] | null> {
    const org = principal.organizationId;
    if (principal.kind === 'api_key') {
      return (await this.#apiKeys.get(joinKey(org, principal.credentialId!), this.#loadApiKey)) ? [] : null;
    }
    const managed = await this.#managed.get(org, this.#loadManaged);
    if (!managed) return principal.roles;
    return this.#members.get(joinKey(org, principal.userId), this.#loadMember);
  }

  async applyChange(change: AccessChange): Promise<void> {
    switch (change.kind) {
      case 'membership':
        return this.#reloadIfCached(this.#members, joinKey(change.organizationId, change.userId), this.#loadMember);
      case 'api-key':
        return this.#reloadIfCached(this.#apiKeys, joinKey(change.organizationId, change.apiKeyId), this.#loadApiKey);
      case 'organization': {
        const prefix = joinKey(change.organizationId, '');
        this.#members.markStale((key) => key.startsWith(prefix));
        this.#apiKeys.markStale((key) => key.startsWith(prefix));
        return this.#reloadIfCached(this.#managed, change.organizationId, this.#loadManaged);
      }
      case 'user': {
        const suffix = `\u0000${change.userId}`;
        this.#members.markStale((key) => key.endsWith(suffix));
        return;
      }
      case 'channel':
        return;
    }
  }

  markAllStale(): void {
    this.#managed.markStale();
    this.#members.markStale();
    this.#apiKeys.markStale();
  }

  /** Answers held over the three caches (each bounded by its maxEntries). */
  get cachedEntries(): number {
    return this.#managed.size + this.#members.size + this.#apiKeys.size;
  }

  /** Only keys someone asked for are kept: a change to an unknown key costs nothing. */
  async #reloadIfCached<V>(cache: RefreshingCache<V>, key: string, load: (key: string) => Promise<V>): Promise<void> {
    if (cache.peek(key) === undefined) {
      cache.invalidate((k) => k === key);
      return;
    }
    try {
      await cache.reload(key, load);
    } catch {
      // Storage is unavailable: the old answer stands (a storage outage never revokes), and
      // the key is loaded again on its next use after the refresh interval.
    }
  }

  readonly #loadManaged = async (org: string): Promise<boolean> => (await this.#repositories.organizations.findById(org)) != null;

  readonly #loadMember = async (key: string): Promise<readonly string[] | null> => {
    const [org, userId] = splitKey(key);
    const [membership, user] = await Promise.all([this.#repositories.memberships.find(org, userId), this.#repositories.users.findById(userId)]);
    if (!membership || !user || user.disabledAt !== null) return null;
    return membership.roles;
  };

  readonly #loadApiKey = async (key: string): Promise<boolean> => {
    const [org, id] = splitKey(key);
    const row = await this.#repositories.apiKeys.findById(org, id);
    return row !== undefined && row !== null && row.revokedAt === null;
  };
}

/** NUL cannot occur in organisation, user or key ids (the grammar and storage refuse it): an unambiguous separator. */
function joinKey(a: string, b: string): string {
  return `${a}\u0000${b}`;
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('\u0000');
  return [key.slice(0, at), key.slice(at + 1)];
}
