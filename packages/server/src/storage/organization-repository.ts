import { eq } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { organizations, type OrganizationRow } from './schema.js';
import { rethrowConflict } from './storage-errors.js';

export interface NewOrganization {
  /** Defaults to a random UUID; must match the organisation id grammar (`[A-Za-z0-9_-]{1,64}`). */
  readonly id?: string;
  readonly name: string;
}

/** Organisations APIX issues tokens for. Each method is about the one organisation it names. */
export class OrganizationRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /** Throws `StorageConflictError` when the id is taken. */
  async create(input: NewOrganization): Promise<OrganizationRow> {
    try {
      const [row] = await this.#db
        .insert(organizations)
        .values({ ...(input.id === undefined ? {} : { id: input.id }), name: input.name })
        .returning();
      return row!;
    } catch (error) {
      rethrowConflict(error, `organisation ${input.id ?? ''} already exists`);
    }
  }

  async findById(organizationId: string): Promise<OrganizationRow | undefined> {
    const [row] = await this.#db.select().from(organizations).where(eq(organizations.id, organizationId));
    return row;
  }

  async rename(organizationId: string, name: string): Promise<OrganizationRow | undefined> {
    const [row] = await this.#db
      .update(organizations)
      .set({ name })
      .where(eq(organizations.id, organizationId))
      .returning();
    return row;
  }

  /** Deletes the organisation with its memberships, API keys and refresh tokens (cascade). */
  async delete(organizationId: string): Promise<boolean> {
    const deleted = await this.#db
      .delete(organizations)
      .where(eq(organizations.id, organizationId))
      .returning({ id: organizations.id });
    return deleted.length > 0;
  }
}
