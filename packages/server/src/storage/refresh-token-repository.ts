import { randomUUID } from 'node:crypto';
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { refreshTokens, type RefreshTokenRow } from './schema.js';

export interface NewRefreshToken {
  /** The family to join; omitted for a fresh login, which starts a new family. */
  readonly familyId?: string;
  readonly tokenHash: string;
  readonly userId: string;
  readonly organizationId: string;
  readonly expiresAt: Date;
}

export interface NextRefreshToken {
  readonly tokenHash: string;
  readonly expiresAt: Date;
}

/**
 * What happened when a refresh token was presented:
 * - `rotated`: it was valid; it is now revoked and replaced by `token` (same family);
 * - `reused`: it had already been rotated or revoked — the sign of a stolen token — so the
 *   whole family is now revoked and the caller must refuse (and audit) the request;
 * - `expired`: past its expiry; nothing changed;
 * - `unknown`: no such token.
 */
export type RefreshTokenRotation =
  | { readonly status: 'rotated'; readonly previous: RefreshTokenRow; readonly token: RefreshTokenRow }
  | { readonly status: 'reused'; readonly familyId: string; readonly userId: string; readonly organizationId: string }
  | { readonly status: 'expired'; readonly familyId: string; readonly userId: string; readonly organizationId: string }
  | { readonly status: 'unknown' };

/**
 * Refresh tokens with rotation and reuse detection. Rows are found by token hash (the
 * presented credential establishes user and organisation); the repository never sees a
 * token in clear.
 */
export class RefreshTokenRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  async issue(input: NewRefreshToken): Promise<RefreshTokenRow> {
    const [row] = await this.#db
      .insert(refreshTokens)
      .values({
        familyId: input.familyId ?? randomUUID(),
        tokenHash: input.tokenHash,
        userId: input.userId,
        organizationId: input.organizationId,
        expiresAt: input.expiresAt,
      })
      .returning();
    return row!;
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const [row] = await this.#db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash));
    return row;
  }

  /**
   * Exchanges a presented token for the next one of its family, atomically: the row is
   * locked (`FOR UPDATE`) so two concurrent uses of one token cannot both rotate it — the
   * second sees it replaced and is treated as reuse, revoking the family.
   */
  async rotate(presentedHash: string, next: NextRefreshToken, now: Date): Promise<RefreshTokenRotation> {
    return this.#db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, presentedHash))
        .for('update');
      if (current === undefined) return { status: 'unknown' };
      const owner = { familyId: current.familyId, userId: current.userId, organizationId: current.organizationId };
      if (current.revokedAt !== null) {
        await tx
          .update(refreshTokens)
          .set({ revokedAt: now })
          .where(and(eq(refreshTokens.familyId, current.familyId), isNull(refreshTokens.revokedAt)));
        return { status: 'reused', ...owner };
      }
      if (current.expiresAt.getTime() <= now.getTime()) return { status: 'expired', ...owner };
      const [token] = await tx
        .insert(refreshTokens)
        .values({ ...owner, tokenHash: next.tokenHash, expiresAt: next.expiresAt })
        .returning();
      const [previous] = await tx
        .update(refreshTokens)
        .set({ revokedAt: now, replacedById: token!.id })
        .where(eq(refreshTokens.id, current.id))
        .returning();
      return { status: 'rotated', previous: previous!, token: token! };
    });
  }

  /** Logout: revokes every live token of the family. Returns how many were revoked. */
  async revokeFamily(familyId: string, at: Date): Promise<number> {
    const revoked = await this.#db
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    return revoked.length;
  }

  /** Logout everywhere, or a disabled user: revokes all the user's live tokens. */
  async revokeAllOfUser(userId: string, at: Date): Promise<number> {
    const revoked = await this.#db
      .update(refreshTokens)
      .set({ revokedAt: at })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    return revoked.length;
  }

  /** Housekeeping: forgets tokens that expired before `before`. */
  async deleteExpired(before: Date): Promise<number> {
    const deleted = await this.#db
      .delete(refreshTokens)
      .where(lt(refreshTokens.expiresAt, before))
      .returning({ id: refreshTokens.id });
    return deleted.length;
  }
}
