import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { ApiXError } from '@apix/protocol';
import type { CryptoKey } from 'jose';
import type { Principal } from './principal.js';

/** What a session token says: whose session it is and until when it may be resumed. */
export interface SessionClaims {
  readonly sessionId: string;
  readonly organizationId: string;
  readonly userId: string;
  /** Wall-clock ms since epoch: the token crosses nodes, so a monotonic clock cannot be used. */
  readonly expiresAt: number;
}

const VERSION = 'v1';
/** Session ids are `sess_` + base64url; organisation and user ids are channel segments. Checked after the MAC, so never trusted before. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Issues and checks resumable session tokens: `v1.<payload>.<mac>`, payload = base64url JSON
 * `{s, o, u, e}`, mac = HMAC-SHA256 over `v1.<payload>` with a secret every node of the
 * cluster shares. A token is a capability to take over the session's subscriptions, so it is
 * only accepted together with a credential that names the same organisation and user — a
 * stolen session token alone gets nothing.
 *
 * Verification answers with typed errors (APIX_ERR_SESSION_INVALID for anything forged,
 * damaged or foreign, APIX_ERR_SESSION_EXPIRED past `e`); the caller starts a fresh session.
 */
export class SessionTokens {
  readonly #secret: Buffer;
  readonly #ttlMs: number;

  constructor(secret: Buffer, ttlMs: number) {
    if (secret.length < 32) throw new TypeError('the session secret needs at least 32 bytes');
    this.#secret = secret;
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  issue(sessionId: string, principal: Principal, now = Date.now()): { token: string; expiresAt: number } {
    const expiresAt = now + this.#ttlMs;
    const payload = Buffer.from(JSON.stringify({ s: sessionId, o: principal.organizationId, u: principal.userId, e: expiresAt })).toString('base64url');
    const signed = `${VERSION}.${payload}`;
    return { token: `${signed}.${this.#mac(signed)}`, expiresAt };
  }

  /** The claims of a token that this cluster issued to this principal and that has not expired; throws a typed error otherwise. */
  verify(token: string, principal: Principal, now = Date.now()): SessionClaims {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) throw invalid('malformed session token');
    const signed = `${parts[0]}.${parts[1]}`;
    const expected = Buffer.from(this.#mac(signed), 'base64url');
    const given = Buffer.from(parts[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('session token signature does not verify');
    let claims: { s?: unknown; o?: unknown; u?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      throw invalid('malformed session token');
    }
    const { s, o, u, e } = claims;
    if (typeof s !== 'string' || typeof o !== 'string' || typeof u !== 'string' || typeof e !== 'number' || !ID.test(s)) {
      throw invalid('malformed session token');
    }
    // Foreign before expired: an old token of someone else's must not even reveal its age.
    if (o !== principal.organizationId || u !== principal.userId) throw invalid('the session belongs to another user or organisation');
    if (now >= e) throw new ApiXError('SESSION_EXPIRED');
    return { sessionId: s, organizationId: o, userId: u, expiresAt: e };
  }

  #mac(signed: string): string {
    return createHmac('sha256', this.#secret).update(signed).digest('base64url');
  }
}

function invalid(message: string): ApiXError {
  return new ApiXError('SESSION_INVALID', message);
}

/**
 * The secret: SESSION_SECRET when set (any string, stretched through HKDF), else derived from
 * the JWT signing key — nodes that verify each other's tokens already share that key, so they
 * share the session secret without another setting to distribute. The key is not extractable,
 * so the material is its RS256 signature over a fixed label: RSASSA-PKCS1-v1_5 is
 * deterministic (same key, same bytes on every node), only the private key can produce it,
 * and it is never published anywhere.
 */
export async function sessionSecret(configured: string | undefined, signingKey: CryptoKey): Promise<Buffer> {
  const material =
    configured !== undefined
      ? Buffer.from(configured, 'utf8')
      : Buffer.from(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', signingKey, new TextEncoder().encode('apix session-token secret v1')));
  return Buffer.from(hkdfSync('sha256', material, 'apix-session-token', VERSION, 32));
}
