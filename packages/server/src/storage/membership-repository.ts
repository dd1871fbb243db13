import { and, asc, eq, gt } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { pageSize } from './pagination.js';
import { memberships, organizations, users, type MembershipRow } from './schema.js';

/** A member as an organisation admin sees them: no password hash. */
export interface OrganizationMember {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string | null;
  readonly roles: string[];
  readonly joinedAt: Date;
  readonly disabledAt: Date | null;
}

/** An organisation as one of its members sees it. */
export interface UserOrganization {
  readonly organizationId: string;
  readonly name: string;
  readonly roles: string[];
}

export interface ListMembersOptions {
  readonly limit?: number;
  /** Continue after this user id (the last one of the previous page). */
  readonly afterUserId?: string;
}

/** Who belongs to which organisation, with which roles. Every read names the organisation or the user. */
export class MembershipRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /** Adds the user to the organisation, or replaces their roles if already a member. */
  async put(organizationId: string, userId: string, roles: readonly string[]): Promise<MembershipRow> {
    const [row] = await this.#db
      .insert(memberships)
      .values({ organizationId, userId, roles: [...roles] })
      .onConflictDoUpdate({ target: [memberships.userId, memberships.organizationId], set: { roles: [...roles] } })
      .returning();
    return row!;
  }

  async find(organizationId: string, userId: string): Promise<MembershipRow | undefined> {
    const [row] = await this.#db
      .select()
      .from(memberships)
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
    return row;
  }

  /** Replaces the roles of an existing member; undefined when the user is not a member. */
  async setRoles(organizationId: string, userId: string, roles: readonly string[]): Promise<MembershipRow | undefined> {
    const [row] = await this.#db
      .update(memberships)
      .set({ roles: [...roles] })
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
      .returning();
    return row;
  }

  async remove(organizationId: string, userId: string): Promise<boolean> {
    const removed = await this.#db
      .delete(memberships)
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
      .returning({ userId: memberships.userId });
    return removed.length > 0;
  }

  /** Members of one organisation, ordered by user id, a page at a time. */
  async listMembers(organizationId: string, options: ListMembersOptions = {}): Promise<OrganizationMember[]> {
    const conditions = [eq(memberships.organizationId, organizationId)];
    if (options.afterUserId !== undefined) conditions.push(gt(memberships.userId, options.afterUserId));
    return this.#db
      .select({
        userId: memberships.userId,
        email: users.email,
        displayName: users.displayName,
        roles: memberships.roles,
        joinedAt: memberships.createdAt,
        disabledAt: users.disabledAt,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(...conditions))
      .orderBy(asc(memberships.userId))
      .limit(pageSize(options.limit));
  }

  /** The organisations a user belongs to (for login: pick one, or show the choice). */
  async listOrganizationsOfUser(userId: string): Promise<UserOrganization[]> {
    return this.#db
      .select({ organizationId: memberships.organizationId, name: organizations.name, roles: memberships.roles })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, userId))
      .orderBy(asc(organizations.name), asc(memberships.organizationId));
  }
}
