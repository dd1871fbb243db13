import { eq } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { users, type UserRow } from './schema.js';
import { rethrowConflict } from './storage-errors.js';

export interface NewUser {
  readonly id?: string;
  readonly email: string;
  /** Already hashed by the caller (the repository never sees a password). */
  readonly passwordHash?: string | null;
  readonly displayName?: string | null;
}

/** Emails compare case-insensitively: stored and looked up trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Users are global identities (one person may belong to several organisations), read here
 * for authentication and self-service only. Organisation admin views list users through
 * `MembershipRepository`, which is scoped to one organisation and never returns hashes.
 */
export class UserRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /** Throws `StorageConflictError` when the email (or id) is taken. */
  async create(input: NewUser): Promise<UserRow> {
    try {
      const [row] = await this.#db
        .insert(users)
        .values({
          ...(input.id === undefined ? {} : { id: input.id }),
          email: normalizeEmail(input.email),
          passwordHash: input.passwordHash ?? null,
          displayName: input.displayName ?? null,
        })
        .returning();
      return row!;
    } catch (error) {
      rethrowConflict(error, 'a user with this email already exists');
    }
  }

  async findById(userId: string): Promise<UserRow | undefined> {
    const [row] = await this.#db.select().from(users).where(eq(users.id, userId));
    return row;
  }

  async findByEmail(email: string): Promise<UserRow | undefined> {
    const [row] = await this.#db.select().from(users).where(eq(users.email, normalizeEmail(email)));
    return row;
  }

  async setPasswordHash(userId: string, passwordHash: string | null): Promise<boolean> {
    const updated = await this.#db.update(users).set({ passwordHash }).where(eq(users.id, userId)).returning({ id: users.id });
    return updated.length > 0;
  }

  async setDisplayName(userId: string, displayName: string | null): Promise<boolean> {
    const updated = await this.#db.update(users).set({ displayName }).where(eq(users.id, userId)).returning({ id: users.id });
    return updated.length > 0;
  }

  /** A disabled user's credentials are refused from then on (checked on every resume). */
  async disable(userId: string, at: Date): Promise<boolean> {
    const updated = await this.#db.update(users).set({ disabledAt: at }).where(eq(users.id, userId)).returning({ id: users.id });
    return updated.length > 0;
  }

  async enable(userId: string): Promise<boolean> {
    const updated = await this.#db.update(users).set({ disabledAt: null }).where(eq(users.id, userId)).returning({ id: users.id });
    return updated.length > 0;
  }
}
