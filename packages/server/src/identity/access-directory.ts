import type { Repositories } from '../storage/repositories.js';
import { TtlCache, type TtlCacheOptions } from '../support/ttl-cache.js';
import type { Principal } from './principal.js';

/**
 * Answers "may this principal still act in its organisation, and with which roles?" —
 * asked on every permission check and by the periodic revalidation of open connections.
 */
export interface AccessDirectory {
  /** Current roles, or null when the principal has lost access (membership removed, user disabled, API key revoked). */
  effectiveRoles(principal: Principal): Promise<readonly string[] | null>;
  /** Forget cached answers for an organisation (after an admin change). */
  invalidate(organizationId: string): void;
}

/** Tokens are the whole truth: used when there is no storage (tests of the data plane alone). */
export class TokenClaimsDirectory implements AccessDirectory {
  async effectiveRoles(principal: Principal): Promise<readonly string[] | null> {
    return principal.roles;
  }
  invalidate(): void {}
}

/**
 * Membership lives in storage for organisations APIX manages (those with a row in
 * `organizations`): there, roles come from the membership row and a removed member or a
 * disabled user loses access even though their token is still valid. Organisations known
 * only from a trusted issuer's tokens (an external JWKS, dev tokens) keep the token's roles.
 * Answers are cached for `ttlMs`, so revocation takes effect within that time on every node.
 */
export class StoredAccessDirectory implements AccessDirectory {
  readonly #repositories: Repositories;
  readonly #managed: TtlCache<string, boolean>;
  readonly #members: TtlCache<string, readonly string[] | null>;
  readonly #apiKeys: TtlCache<string, boolean>;

  /** Keyed by organisation and user ids of verified tokens, which other issuers may make up: bounded (TtlCache's LRU cap). */
  constructor(repositories: Repositories, ttlMs: number, cacheOptions?: TtlCacheOptions) {
    this.#repositories = repositories;
    this.#managed = new TtlCache(ttlMs, cacheOptions);
    this.#members = new TtlCache(ttlMs, cacheOptions);
    this.#apiKeys = new TtlCache(ttlMs, cacheOptions);
  }

  /** Entries cached now over its three caches (tests of the bound). */
  get cachedEntries(): number {
    return this.#managed.size + this.#members.size + this.#apiKeys.size;
  }

  async effectiveRoles(principal: Principal): Promise<readonly string[] | null> {
    const org = principal.organizationId;
    if (principal.kind === 'api_key') {
      const active = await this.#apiKeys.get(`${org}/${principal.credentialId}`, async () => {
        const key = await this.#repositories.apiKeys.findById(org, principal.credentialId!);
        return key !== undefined && key !== null && key.revokedAt === null;
      });
      return active ? [] : null;
    }
    const managed = await this.#managed.get(org, async (id) => (await this.#repositories.organizations.findById(id)) != null);
    if (!managed) return principal.roles;
    return this.#members.get(`${org}/${principal.userId}`, async () => {
      const [membership, user] = await Promise.all([
        this.#repositories.memberships.find(org, principal.userId),
        this.#repositories.users.findById(principal.userId),
      ]);
      if (!membership || !user || user.disabledAt !== null) return null;
      return membership.roles;
    });
  }

  invalidate(organizationId: string): void {
    const prefix = `${organizationId}/`;
    this.#managed.invalidate((key) => key === organizationId);
    this.#members.invalidate((key) => key.startsWith(prefix));
    this.#apiKeys.invalidate((key) => key.startsWith(prefix));
  }
}
