import {
  ApiXError,
  ORGANIZATION_ADMIN_ROLE,
  PLATFORM_ADMIN_ROLE,
  type loginBodySchema,
  type logoutBodySchema,
  type profileResponseSchema,
  type refreshBodySchema,
  type RegisterBody,
  type TokenResponse,
  type TokenValidationResponse,
} from '@apix/protocol';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isPlatformAdmin } from '../admin/admin-access.js';
import { AuditAction } from '../audit/audit-actions.js';
import { AuditUnavailableError, type AuditEntry } from '../audit/audit-logger.js';
import type { ControlPlaneContext } from '../http/control-plane-context.js';
import type { UserOrganization } from '../storage/membership-repository.js';
import { createRepositories } from '../storage/repositories.js';
import { AuditActorType, AuditOutcome, type UserRow } from '../storage/schema.js';
import { StorageConflictError } from '../storage/storage-errors.js';
import { findOrganizationTrace } from './organization-traces.js';
import { hashPassword, spendPasswordCheck, verifyPassword } from './password-hasher.js';
import type { Principal } from './principal.js';
import { generateRefreshToken, hashRefreshToken } from './refresh-token-secret.js';

export type LoginBody = z.infer<typeof loginBodySchema>;
export type RefreshBody = z.infer<typeof refreshBodySchema>;
export type LogoutBody = z.infer<typeof logoutBodySchema>;
export type ProfileResponse = z.infer<typeof profileResponseSchema>;

/** What the auth service uses from the control plane's context. */
export type AuthContext = Pick<ControlPlaneContext, 'config' | 'logger' | 'database' | 'repositories' | 'issuer' | 'audit' | 'directory' | 'accessChanged'>;

/**
 * One message for an unknown email, a wrong password and an account without a password, so
 * the answer does not reveal which emails have accounts (the timing does not either: every
 * path runs the KDF once).
 */
const LOGIN_FAILED_MESSAGE = 'email or password is wrong';

/** API keys carry this expiry (see ApiKeyVerifier): "never", shown as absent or null. */
const NO_EXPIRY = Number.MAX_SAFE_INTEGER;

/**
 * APIX's own accounts: registration (a user and their organisation), password login,
 * refresh-token rotation with reuse detection, logout, and what a credential says about its
 * holder. Access tokens are the RS256 JWTs the gateway verifies; refresh tokens are opaque,
 * random, stored hashed, single-use, and grouped in families (one per login) so that reuse of
 * a spent token — the mark of a stolen one — revokes every token of that login.
 */
export class AuthService {
  readonly #ctx: AuthContext;

  constructor(ctx: AuthContext) {
    this.#ctx = ctx;
  }

  /**
   * Creates the organisation, the user, the user's `admin` membership and the first refresh
   * token in one transaction: a conflict (email or organisation id taken) or any other failure
   * leaves no row behind.
   *
   * Who picks the organisation id (ADR 0030): self-registration never does — the server
   * generates a fresh, unguessable id — because organisation ids are shared by every issuer
   * APIX trusts (dev tokens, an external JWKS issuer) and an id only their tokens have used
   * leaves no row that proves it taken. Only a platform admin (`caller`) may name an id, and
   * even then an id with any trace of use is refused. A platform admin may register while
   * self-registration is closed.
   */
  async register(body: RegisterBody, caller?: Principal): Promise<TokenResponse> {
    const byPlatformAdmin = caller !== undefined && isPlatformAdmin(caller);
    if (!byPlatformAdmin && registrationMode(this.#ctx.config) === 'closed') {
      throw new ApiXError('FORBIDDEN', 'self-service registration is closed on this server; ask an administrator');
    }
    if (body.organization.id !== undefined && !byPlatformAdmin) {
      throw new ApiXError('FORBIDDEN', 'only a platform admin may choose the organisation id; leave organization.id out and the server generates one');
    }
    // The KDF runs before the transaction: a transaction holds PGlite's only connection (a
    // pooled one on PostgreSQL), which must not sit idle through ~100 ms of hashing.
    const passwordHash = await hashPassword(body.password);
    const refresh = generateRefreshToken();
    const organizationId = body.organization.id ?? generateOrganizationId();
    const roles = [ORGANIZATION_ADMIN_ROLE];
    let user: UserRow;
    try {
      user = await this.#ctx.database.db.transaction(async (tx) => {
        // Inside the transaction every statement must go through `tx` (PGlite would wait on itself otherwise).
        const repositories = createRepositories(tx);
        const trace = await findOrganizationTrace(tx, organizationId);
        if (trace !== undefined) {
          throw new ApiXError('CONFLICT', `organisation ${organizationId} is already in use`, { foundIn: trace });
        }
        await repositories.organizations.create({ id: organizationId, name: body.organization.name });
        const created = await repositories.users.create({ email: body.email, passwordHash, displayName: body.name ?? null });
        await repositories.memberships.put(organizationId, created.id, roles);
        await repositories.refreshTokens.issue({
          tokenHash: refresh.tokenHash,
          userId: created.id,
          organizationId,
          expiresAt: this.#refreshExpiry(new Date()),
        });
        return created;
      });
    } catch (error) {
      if (error instanceof StorageConflictError) throw new ApiXError('CONFLICT', error.message);
      throw error;
    }
    // The organisation may have been looked up (and cached as unmanaged) before it existed.
    await this.#ctx.accessChanged({ kind: 'organization', organizationId });
    this.#audit(userActor(user.id, organizationId), AuditAction.AUTH_REGISTER, AuditOutcome.SUCCESS, { method: 'password' });
    return this.#tokenResponse(user.id, organizationId, roles, refresh.token);
  }

  /**
   * Password login. Failures that could tell an outsider whether an email has an account all
   * answer the same AUTH_FAILED after the same work; only someone who knows the password
   * learns more (account disabled, which organisation to pick).
   */
  async login(body: LoginBody): Promise<TokenResponse> {
    const user = await this.#ctx.repositories.users.findByEmail(body.email);
    if (user === undefined || user.passwordHash === null) {
      await spendPasswordCheck(body.password);
      const reason = user === undefined ? 'unknown_email' : 'no_password';
      this.#audit(ANONYMOUS_ACTOR, AuditAction.AUTH_FAILURE, AuditOutcome.FAILURE, { method: 'password', reason, email: body.email });
      throw new ApiXError('AUTH_FAILED', LOGIN_FAILED_MESSAGE);
    }
    // The organisations are read while the KDF runs, so a known email costs no more time than an unknown one.
    const [passwordMatches, organizations] = await Promise.all([
      verifyPassword(body.password, user.passwordHash),
      this.#ctx.repositories.memberships.listOrganizationsOfUser(user.id),
    ]);
    const actor = userActor(user.id, attributedOrganization(organizations, body.organizationId));
    const failure = (reason: string) => this.#audit(actor, AuditAction.AUTH_FAILURE, AuditOutcome.FAILURE, { method: 'password', reason });
    if (!passwordMatches) {
      failure('wrong_password');
      throw new ApiXError('AUTH_FAILED', LOGIN_FAILED_MESSAGE);
    }
    if (user.disabledAt !== null) {
      failure('user_disabled');
      throw new ApiXError('FORBIDDEN', 'this account is disabled');
    }
    const membership = chooseOrganization(organizations, body.organizationId);
    if (membership === undefined) {
      failure('not_a_member');
      const message = body.organizationId === undefined ? 'this account belongs to no organisation' : 'this account is not a member of that organisation';
      throw new ApiXError('FORBIDDEN', message);
    }
    const refresh = generateRefreshToken();
    await this.#ctx.repositories.refreshTokens.issue({
      tokenHash: refresh.tokenHash,
      userId: user.id,
      organizationId: membership.organizationId,
      expiresAt: this.#refreshExpiry(new Date()),
    });
    this.#audit(userActor(user.id, membership.organizationId), AuditAction.AUTH_LOGIN, AuditOutcome.SUCCESS, { method: 'password' });
    return this.#tokenResponse(user.id, membership.organizationId, membership.roles, refresh.token);
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token; the presented
   * one is spent. Presenting a spent token revokes its whole family (the legitimate holder
   * and the thief both have to log in again) — see RefreshTokenRepository.rotate, which makes
   * two concurrent uses of one token count as reuse. Roles are read fresh from storage: a
   * removed member or a disabled user gets no new access token.
   */
  async refresh(body: RefreshBody): Promise<TokenResponse> {
    const now = new Date();
    const next = generateRefreshToken();
    const presented = hashRefreshToken(body.refreshToken);
    const rotation = await this.#ctx.repositories.refreshTokens.rotate(presented, { tokenHash: next.tokenHash, expiresAt: this.#refreshExpiry(now) }, now);
    const failure = (actor: AuditActor, reason: string) => this.#audit(actor, AuditAction.AUTH_FAILURE, AuditOutcome.FAILURE, { method: 'refresh', reason });
    switch (rotation.status) {
      case 'unknown':
        failure(ANONYMOUS_ACTOR, 'unknown_refresh_token');
        throw new ApiXError('AUTH_FAILED', 'the refresh token is not valid; log in again');
      case 'expired':
        failure(userActor(rotation.userId, rotation.organizationId), 'refresh_token_expired');
        throw new ApiXError('TOKEN_EXPIRED', 'the refresh token has expired; log in again');
      case 'reused': {
        const { userId, organizationId, familyId } = rotation;
        this.#ctx.logger.warn({ userId, organizationId, familyId }, 'refresh token reused: its family is revoked');
        this.#audit(userActor(userId, organizationId), AuditAction.AUTH_REFRESH_REUSE, AuditOutcome.DENIED, { familyId });
        throw new ApiXError('AUTH_FAILED', 'this refresh token was already used; every token of its login is revoked: log in again');
      }
      case 'rotated':
        break;
    }
    const { userId, organizationId, familyId } = rotation.token;
    const roles = await this.#storedRoles(userId, organizationId);
    if (roles === null) {
      await this.#ctx.repositories.refreshTokens.revokeFamily(familyId, now);
      failure(userActor(userId, organizationId), 'access_revoked');
      throw new ApiXError('AUTH_FAILED', 'this login no longer grants access to its organisation; log in again');
    }
    this.#audit(userActor(userId, organizationId), AuditAction.AUTH_REFRESH, AuditOutcome.SUCCESS, { familyId });
    return this.#tokenResponse(userId, organizationId, roles, next.token);
  }

  /**
   * Ends the login the refresh token belongs to: every token of its family is revoked.
   * Idempotent, and silent about tokens it does not know (no oracle for guessed tokens).
   * Access tokens already issued stay valid until they expire (ACCESS_TOKEN_TTL_SECONDS).
   */
  async logout(body: LogoutBody): Promise<void> {
    const token = await this.#ctx.repositories.refreshTokens.findByHash(hashRefreshToken(body.refreshToken));
    if (token === undefined) return;
    const revoked = await this.#ctx.repositories.refreshTokens.revokeFamily(token.familyId, new Date());
    if (revoked > 0) {
      this.#audit(userActor(token.userId, token.organizationId), AuditAction.AUTH_LOGOUT, AuditOutcome.SUCCESS, { familyId: token.familyId, revoked });
    }
  }

  /** The holder of a verified credential, with current roles and, for stored users, email and name. */
  async profile(principal: Principal): Promise<ProfileResponse> {
    const roles = await this.#effectiveRoles(principal);
    const profile: ProfileResponse = {
      kind: principal.kind,
      userId: principal.userId,
      organizationId: principal.organizationId,
      roles: [...roles],
      scopes: [...principal.scopes],
      ...(principal.expiresAt < NO_EXPIRY ? { expiresAt: principal.expiresAt } : {}),
    };
    if (principal.kind !== 'user') return profile;
    const [membership, user] = await Promise.all([
      this.#ctx.repositories.memberships.find(principal.organizationId, principal.userId),
      this.#ctx.repositories.users.findById(principal.userId),
    ]);
    // Only a member's own row: a token of another issuer whose `sub` happens to equal a
    // stored user id, in an organisation APIX does not manage, must not see that user's email.
    if (membership === undefined || user === undefined) return profile;
    return { ...profile, email: user.email, name: user.displayName };
  }

  /** Whether the credential is still good (the guard checked signature and expiry; this adds revocation) and what it grants. */
  async validate(principal: Principal): Promise<TokenValidationResponse> {
    const roles = await this.#effectiveRoles(principal);
    return {
      valid: true,
      kind: principal.kind,
      userId: principal.userId,
      organizationId: principal.organizationId,
      roles: [...roles],
      scopes: [...principal.scopes],
      expiresAt: principal.expiresAt < NO_EXPIRY ? principal.expiresAt : null,
    };
  }

  /** Roles as the gateway would see them now; a credential that lost its access is refused like an invalid one. */
  async #effectiveRoles(principal: Principal): Promise<readonly string[]> {
    const roles = await this.#ctx.directory.effectiveRoles(principal);
    if (roles === null) throw new ApiXError('AUTH_FAILED', 'this credential no longer grants access to its organisation');
    return roles;
  }

  /** Uncached: the membership's roles, or null when the user is gone, disabled or no longer a member. */
  async #storedRoles(userId: string, organizationId: string): Promise<string[] | null> {
    const [membership, user] = await Promise.all([
      this.#ctx.repositories.memberships.find(organizationId, userId),
      this.#ctx.repositories.users.findById(userId),
    ]);
    if (membership === undefined || user === undefined || user.disabledAt !== null) return null;
    return membership.roles;
  }

  /**
   * Mints the access token. `platform-admin` (operator of the whole installation) is never
   * minted here, whatever a membership row says: it comes only from operator-minted tokens
   * (`apix token`), so a membership edited to include it cannot become an installation-wide
   * credential through login or refresh.
   */
  async #tokenResponse(userId: string, organizationId: string, membershipRoles: readonly string[], refreshToken: string): Promise<TokenResponse> {
    const roles = membershipRoles.filter((role) => role !== PLATFORM_ADMIN_ROLE);
    const ttlSeconds = this.#ctx.config.ACCESS_TOKEN_TTL_SECONDS;
    const accessToken = await this.#ctx.issuer.issue({ userId, organizationId, roles, ttlSeconds });
    return { tokenType: 'Bearer', accessToken, expiresIn: ttlSeconds, refreshToken, userId, organizationId, roles };
  }

  /** Sliding expiry: each rotation gives the new token a full REFRESH_TOKEN_TTL_SECONDS. */
  #refreshExpiry(now: Date): Date {
    return new Date(now.getTime() + this.#ctx.config.REFRESH_TOKEN_TTL_SECONDS * 1000);
  }

  #audit(actor: AuditActor, action: AuditAction, outcome: AuditOutcome, details: Record<string, unknown>): void {
    const entry: AuditEntry = { ...actor, action, outcome, details };
    try {
      this.#ctx.audit.record(entry);
    } catch (error) {
      // Only security-relevant rows throw, and every one this service writes reports a
      // refusal (failed login or refresh, refresh reuse): nothing is let through unrecorded.
      if (!(error instanceof AuditUnavailableError)) throw error;
      this.#ctx.logger.error({ action: entry.action, organizationId: entry.organizationId }, 'audit unavailable: auth failure not recorded; the request was refused');
    }
  }
}

type AuditActor = Pick<AuditEntry, 'organizationId' | 'actorType' | 'actorId'>;

/** Who failed to log in when the credential named nobody (unknown email or token): operators' rows only. */
const ANONYMOUS_ACTOR: AuditActor = { organizationId: null, actorType: AuditActorType.ANONYMOUS, actorId: null };

function userActor(userId: string, organizationId: string | null): AuditActor {
  return { organizationId, actorType: AuditActorType.USER, actorId: userId };
}

/**
 * The organisation a login acts in: the one named, which the user must belong to, or the
 * user's only one. A user of several organisations must name one (the error lists them,
 * which only someone who knew the password gets to see).
 */
function chooseOrganization(organizations: readonly UserOrganization[], requested: string | undefined): UserOrganization | undefined {
  if (requested !== undefined) return organizations.find((o) => o.organizationId === requested);
  if (organizations.length <= 1) return organizations[0];
  throw new ApiXError('INVALID_REQUEST', 'this account belongs to several organisations: name one in organizationId', {
    organizations: organizations.map((o) => ({ id: o.organizationId, name: o.name })),
  });
}

/** Whose audit trail a failed login of a known user belongs in: the organisation it was for, when that is clear. */
function attributedOrganization(organizations: readonly UserOrganization[], requested: string | undefined): string | null {
  if (requested !== undefined) return organizations.some((o) => o.organizationId === requested) ? requested : null;
  return organizations.length === 1 ? organizations[0]!.organizationId : null;
}

/** 16 random bytes, base64url: an id nobody can predict, within the organisation id grammar. */
function generateOrganizationId(): string {
  return `org_${randomBytes(16).toString('base64url')}`;
}

/** Registration is open unless configured closed, and closed by default when an external issuer is trusted. */
export function registrationMode(config: Pick<ControlPlaneContext['config'], 'REGISTRATION' | 'JWKS_URL'>): 'open' | 'closed' {
  return config.REGISTRATION ?? (config.JWKS_URL ? 'closed' : 'open');
}
