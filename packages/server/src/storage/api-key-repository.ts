import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { apiKeys, type ApiKeyRow } from './schema.js';
import { rethrowConflict } from './storage-errors.js';

export interface NewApiKey {
  readonly organizationId: string;
  readonly name: string;
  /** Non-secret lookup handle (unique). */
  readonly keyPrefix: string;
  /** Hash of the full secret, computed by the caller. */
  readonly keyHash: string;
  readonly scopes: readonly string[];
  readonly createdByUserId?: string | null;
}

/** An API key as listed to an organisation admin: everything but the hash. */
export type ApiKeySummary = Omit<ApiKeyRow, 'keyHash'>;

const summaryColumns = {
  id: apiKeys.id,
  organizationId: apiKeys.organizationId,
  name: apiKeys.name,
  keyPrefix: apiKeys.keyPrefix,
  scopes: apiKeys.scopes,
  createdByUserId: apiKeys.createdByUserId,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
  lastUsedAt: apiKeys.lastUsedAt,
};

/** API keys for server-to-server publish. Hashed at rest; scoped to one organisation. */
export class ApiKeyRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /** Throws `StorageConflictError` if the prefix is taken (the caller draws a new key). */
  async create(input: NewApiKey): Promise<ApiKeySummary> {
    try {
      const [row] = await this.#db
        .insert(apiKeys)
        .values({
          organizationId: input.organizationId,
          name: input.name,
          keyPrefix: input.keyPrefix,
          keyHash: input.keyHash,
          scopes: [...input.scopes],
          createdByUserId: input.createdByUserId ?? null,
        })
        .returning(summaryColumns);
      return row!;
    } catch (error) {
      rethrowConflict(error, 'an API key with this prefix already exists');
    }
  }

  /**
   * Authentication: the unrevoked key with this prefix, hash included, for the caller to
   * compare in constant time. The only read not scoped by organisation, because it is the
   * step that establishes the organisation (from the key's row).
   */
  async findActiveByPrefix(keyPrefix: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.#db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyPrefix, keyPrefix), isNull(apiKeys.revokedAt)));
    return row;
  }

  async findById(organizationId: string, keyId: string): Promise<ApiKeySummary | undefined> {
    const [row] = await this.#db
      .select(summaryColumns)
      .from(apiKeys)
      .where(and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.id, keyId)));
    return row;
  }

  /** The organisation's keys, newest first (revoked ones included, marked by `revokedAt`). */
  async listByOrganization(organizationId: string): Promise<ApiKeySummary[]> {
    return this.#db
      .select(summaryColumns)
      .from(apiKeys)
      .where(eq(apiKeys.organizationId, organizationId))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  }

  /** Revokes the key; false when it does not exist in this organisation or was already revoked. */
  async revoke(organizationId: string, keyId: string, at: Date): Promise<boolean> {
    const revoked = await this.#db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    return revoked.length > 0;
  }

  /** Records a use; only ever moves `lastUsedAt` forward, so racing nodes cannot rewind it. */
  async touchLastUsed(organizationId: string, keyId: string, at: Date): Promise<void> {
    await this.#db
      .update(apiKeys)
      .set({ lastUsedAt: at })
      .where(
        and(
          eq(apiKeys.organizationId, organizationId),
          eq(apiKeys.id, keyId),
          or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, at)),
        ),
      );
  }
}
