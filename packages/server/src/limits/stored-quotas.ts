import { eq, sql } from 'drizzle-orm';
import type { ApixDatabase } from '../storage/database.js';
import { organizationQuotas, type OrganizationQuotaRow } from '../storage/schema.js';
import { QUOTA_NAMES, type OrganizationQuotas, type QuotaSource } from './quotas.js';

/** An organisation's overrides: absent or null fields take the server default. */
export type QuotaOverrides = { -readonly [K in keyof OrganizationQuotas]?: number | null };

/**
 * Quotas with per-organisation overrides from `organization_quotas`. Every override is read
 * into memory at start (`load`) and re-read for one organisation when it changes (`set`,
 * `reload`), so `quotasOf` — called on the per-message path — is a map lookup and never waits
 * on storage. The table holds only organisations an operator gave quotas to: small.
 */
export class StoredQuotas implements QuotaSource {
  readonly #db: ApixDatabase;
  readonly #defaults: OrganizationQuotas;
  readonly #effective = new Map<string, OrganizationQuotas>();
  readonly #overrides = new Map<string, QuotaOverrides>();

  private constructor(db: ApixDatabase, defaults: OrganizationQuotas) {
    this.#db = db;
    this.#defaults = defaults;
  }

  static async load(db: ApixDatabase, defaults: OrganizationQuotas): Promise<StoredQuotas> {
    const quotas = new StoredQuotas(db, defaults);
    for (const row of await db.select().from(organizationQuotas)) quotas.#remember(row.organizationId, fromRow(row));
    return quotas;
  }

  get defaults(): OrganizationQuotas {
    return this.#defaults;
  }

  quotasOf(organizationId: string): OrganizationQuotas {
    return this.#effective.get(organizationId) ?? this.#defaults;
  }

  overridesOf(organizationId: string): QuotaOverrides {
    return { ...this.#overrides.get(organizationId) };
  }

  /** Stores the organisation's overrides (replacing earlier ones; null clears one) and applies them on this node at once. */
  async set(organizationId: string, overrides: QuotaOverrides): Promise<OrganizationQuotas> {
    const values = Object.fromEntries(QUOTA_NAMES.map((name) => [name, overrides[name] ?? null])) as Record<keyof OrganizationQuotas, number | null>;
    await this.#db
      .insert(organizationQuotas)
      .values({ organizationId, ...values, updatedAt: new Date() })
      .onConflictDoUpdate({ target: organizationQuotas.organizationId, set: { ...values, updatedAt: sql`now()` } });
    await this.reload(organizationId);
    return this.quotasOf(organizationId);
  }

  /** Re-reads one organisation's row (after a change, possibly made on another node). */
  async reload(organizationId: string): Promise<void> {
    const [row] = await this.#db.select().from(organizationQuotas).where(eq(organizationQuotas.organizationId, organizationId));
    if (row === undefined) {
      this.#effective.delete(organizationId);
      this.#overrides.delete(organizationId);
    } else {
      this.#remember(organizationId, fromRow(row));
    }
  }

  /**
   * Re-reads every row (the control bus may have lost a change): organisations whose row is
   * gone fall back to the defaults. On failure the overrides held so far stay.
   */
  async reloadAll(): Promise<void> {
    const rows = await this.#db.select().from(organizationQuotas);
    const present = new Set(rows.map((row) => row.organizationId));
    for (const organizationId of [...this.#overrides.keys()]) {
      if (!present.has(organizationId)) {
        this.#effective.delete(organizationId);
        this.#overrides.delete(organizationId);
      }
    }
    for (const row of rows) this.#remember(row.organizationId, fromRow(row));
  }

  #remember(organizationId: string, overrides: QuotaOverrides): void {
    this.#overrides.set(organizationId, overrides);
    const effective = { ...this.#defaults };
    for (const name of QUOTA_NAMES) {
      const value = overrides[name];
      if (value !== null && value !== undefined) effective[name as keyof OrganizationQuotas & string] = value as never;
    }
    this.#effective.set(organizationId, effective);
  }
}

function fromRow(row: OrganizationQuotaRow): QuotaOverrides {
  const overrides: QuotaOverrides = {};
  for (const name of QUOTA_NAMES) {
    const value = row[name];
    if (value !== null) overrides[name] = value;
  }
  return overrides;
}
