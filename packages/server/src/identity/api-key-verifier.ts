import { ApiXError, apiKeyScopeSchema, type ApiKeyScope } from '@apix/protocol';
import type { ApiKeyRepository } from '../storage/api-key-repository.js';
import { TtlCache, type TtlCacheOptions } from '../support/ttl-cache.js';
import { parseApiKey, secretMatches } from './api-key-secret.js';
import type { Principal } from './principal.js';
import type { CredentialVerifier } from './token-verifier.js';

const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Verifies `apix_<id>_<secret>` API keys. Lookups are cached for `ttlMs` (a revoked key stops
 * working within that time; open connections are re-checked by the revalidator). The
 * organisation comes from the key's row, never from the request.
 */
export class ApiKeyVerifier implements CredentialVerifier {
  readonly #keys: ApiKeyRepository;
  readonly #cache: TtlCache<string, { id: string; organizationId: string; keyHash: string; scopes: string[] } | null>;

  /** The cache is keyed by the key id a caller sent, real or made up: bounded (TtlCache's LRU cap). */
  constructor(keys: ApiKeyRepository, ttlMs: number, cacheOptions?: TtlCacheOptions) {
    this.#keys = keys;
    this.#cache = new TtlCache(ttlMs, cacheOptions);
  }

  /** Entries cached now (tests of the bound). */
  get cachedEntries(): number {
    return this.#cache.size;
  }

  async verify(credential: string): Promise<Principal> {
    const parsed = parseApiKey(credential);
    if (!parsed) throw new ApiXError('AUTH_FAILED');
    let row;
    try {
      row = await this.#cache.get(parsed.keyId, async (prefix) => (await this.#keys.findActiveByPrefix(prefix)) ?? null);
    } catch {
      throw new ApiXError('UNAVAILABLE', 'the credential could not be checked; retry');
    }
    if (!row || !secretMatches(parsed.secret, row.keyHash)) throw new ApiXError('AUTH_FAILED');
    const scopes = row.scopes.filter((s): s is ApiKeyScope => apiKeyScopeSchema.safeParse(s).success);
    return {
      kind: 'api_key',
      userId: `key_${row.id}`,
      organizationId: row.organizationId,
      roles: [],
      scopes,
      expiresAt: NEVER,
      credentialId: row.id,
    };
  }

  /** Forget cached keys (after a revocation on this node). */
  invalidate(): void {
    this.#cache.invalidate();
  }
}
