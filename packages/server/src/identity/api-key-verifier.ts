import { ApiXError, apiKeyScopeSchema, type ApiKeyScope } from '@apix/protocol';
import type { ApiKeyRepository } from '../storage/api-key-repository.js';
import { RefreshingCache } from '../support/refreshing-cache.js';
import type { PermissionCacheSettings } from './access-directory.js';
import { parseApiKey, secretMatches } from './api-key-secret.js';
import type { Principal } from './principal.js';
import type { CredentialVerifier } from './token-verifier.js';

const NEVER = Number.MAX_SAFE_INTEGER;

type StoredKey = { id: string; organizationId: string; keyHash: string; scopes: string[] } | null;

/**
 * Verifies `apix_<id>_<secret>` API keys. Lookups are cached (bounded: key ids are client
 * input, and unknown ids are cached as unknown) until an API-key change event; open
 * connections of a revoked key are closed by the revalidator. The organisation comes from the
 * key's row, never from the request.
 */
export class ApiKeyVerifier implements CredentialVerifier {
  readonly #keys: ApiKeyRepository;
  readonly #cache: RefreshingCache<StoredKey>;

  constructor(keys: ApiKeyRepository, settings: PermissionCacheSettings) {
    this.#keys = keys;
    this.#cache = new RefreshingCache(settings);
  }

  async verify(credential: string): Promise<Principal> {
    const parsed = parseApiKey(credential);
    if (!parsed) throw new ApiXError('AUTH_FAILED');
    let row;
    try {
      row = await this.#cache.get(parsed.keyId, this.#load);
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

  /** Forget cached keys (after an API-key change: create, revoke). */
  invalidate(): void {
    this.#cache.invalidate();
  }

  /** Keys held in the cache (bounded by the cache's maxEntries). */
  get cachedEntries(): number {
    return this.#cache.size;
  }

  readonly #load = async (prefix: string): Promise<StoredKey> => (await this.#keys.findActiveByPrefix(prefix)) ?? null;
}
