import { ApiXError, type createApiKeyBodySchema, type createdApiKeySchema } from '@apix/protocol';
import type { z } from 'zod';
import { AuditAction } from '../audit/audit-actions.js';
import { generateApiKey } from '../identity/api-key-secret.js';
import type { Principal } from '../identity/principal.js';
import { requireOrganization, type AdminDeps } from './admin-deps.js';
import { apiKeyView, type ApiKeyView, type Page } from './views.js';

type CreateApiKeyBody = z.infer<typeof createApiKeyBodySchema>;
type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

/** A fresh key id colliding with a stored one is astronomically rare; a few draws settle it. */
const KEY_DRAWS = 3;

/**
 * API keys of an organisation. The plain key exists only in the response to `create`; the
 * listing never shows the key or its hash. Revocation takes effect at once on this node
 * (HTTP and open WebSockets, closed with 4500) and within the cache TTL on the others.
 */
export class ApiKeyService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async list(principal: Principal, organizationId: string): Promise<Page<ApiKeyView>> {
    const { ctx, access } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'api_key.list');
    await requireOrganization(ctx, organizationId);
    const keys = await ctx.repositories.apiKeys.listByOrganization(organizationId);
    return { items: keys.map(apiKeyView), nextCursor: null };
  }

  async create(principal: Principal, organizationId: string, body: CreateApiKeyBody): Promise<CreatedApiKey> {
    const { ctx, access, trail } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'api_key.create');
    await requireOrganization(ctx, organizationId);
    const createdByUserId = await this.#creatorOf(principal, organizationId);
    const scopes = [...new Set(body.scopes)];
    for (let draw = 1; ; draw++) {
      const material = generateApiKey();
      const change = { action: AuditAction.ADMIN_API_KEY_CREATED, organizationId, target: material.keyId, details: { name: body.name, scopes } };
      try {
        const key = await trail.change(principal, change, () =>
          ctx.repositories.apiKeys.create({ organizationId, name: body.name, keyPrefix: material.keyId, keyHash: material.secretHash, scopes, createdByUserId }),
        );
        await ctx.accessChanged({ kind: 'api-key', organizationId, apiKeyId: key.id });
        return { id: key.id, name: key.name, scopes, key: material.plainKey, createdAt: key.createdAt.toISOString() };
      } catch (error) {
        if (draw >= KEY_DRAWS || !(error instanceof ApiXError && error.code === 'APIX_ERR_CONFLICT')) throw error;
      }
    }
  }

  async revoke(principal: Principal, organizationId: string, keyId: string): Promise<void> {
    const { ctx, access, trail } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'api_key.revoke');
    await requireOrganization(ctx, organizationId);
    const key = await ctx.repositories.apiKeys.findById(organizationId, keyId);
    if (key === undefined || key.revokedAt !== null) throw new ApiXError('NOT_FOUND', 'no active API key with this id');
    const change = { action: AuditAction.ADMIN_API_KEY_REVOKED, organizationId, target: key.keyPrefix, details: { apiKeyId: key.id, name: key.name } };
    await trail.change(principal, change, async () => {
      if (!(await ctx.repositories.apiKeys.revoke(organizationId, keyId, new Date()))) {
        throw new ApiXError('NOT_FOUND', 'no active API key with this id');
      }
    });
    // Drops the key from every node's verifier cache and closes its open connections (4500).
    await ctx.accessChanged({ kind: 'api-key', organizationId, apiKeyId: key.id });
  }

  /**
   * `created_by_user_id` references `users`: only a stored member of this organisation is
   * recorded (a platform admin's or an external issuer's subject may have no user row).
   */
  async #creatorOf(principal: Principal, organizationId: string): Promise<string | null> {
    if (principal.kind !== 'user') return null;
    const membership = await this.#deps.ctx.repositories.memberships.find(organizationId, principal.userId);
    return membership === undefined ? null : principal.userId;
  }
}
