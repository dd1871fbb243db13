import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ApiXError } from '@apix/protocol';
import type { JWK } from 'jose';
import type { Principal } from './principal.js';
import { principalFromClaims, type CredentialVerifier, type TokenVerifierOptions } from './token-verifier.js';

/** A compact JWS part: unpadded base64url, nothing else (Buffer's decoder would skip stray characters). */
const BASE64URL_PART = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies the access tokens APIX issued itself (RS256 with its own key) on the connect path.
 *
 * Why not jose here: jose verifies through WebCrypto, which costs ~85 µs of event-loop time
 * per token on Node 20 against ~14 µs for `crypto.verify` with a callback (the RSA work runs
 * on libuv's thread pool). Every WebSocket connect verifies one token, so that difference was
 * a fifth of the server's CPU in the one-channel-per-user benchmark (ADR 0007). jose still
 * issues tokens and verifies external issuers' tokens (key sets, rotation); this file only
 * checks what jose would check for APIX's own tokens, with the same outcomes — the
 * differential test `identity/local-token-verifier.test.ts` runs both over the same tokens.
 *
 * Checks, in order: three base64url parts; a JSON-object header with `alg: "RS256"` and no
 * `crit` or `b64` extension; the signature over the first two parts exactly as received; a
 * JSON-object payload with `iss` and `aud` matching, numeric `exp` (required), `nbf` and `iat`
 * when present, `exp` and `nbf` against the wall clock (JWT times are wall-clock by definition)
 * with the configured tolerance; then the APIX claims.
 */
/** Verified tokens remembered (bounded: tokens are client input) and the longest token remembered. */
const VERIFIED_TOKENS_CACHED = 10_000;
const MAX_CACHED_TOKEN_LENGTH = 4_096;

export class LocalTokenVerifier implements CredentialVerifier {
  readonly #key: KeyObject;
  readonly #options: TokenVerifierOptions;
  /**
   * A token already verified is answered from here until it expires: the RSA check was ~9 % of
   * a node's CPU when one backend publishes 1,000 events/s over HTTP with the same token. A
   * token's signature, issuer and audience cannot change (the cache is keyed by the whole
   * token, so any altered byte misses), expiry is checked on every use, and whether its holder
   * may still act (membership, revocation) is decided elsewhere on every request.
   */
  readonly #verified = new LRUCache<string, Principal>({ max: VERIFIED_TOKENS_CACHED });

  constructor(publicJwk: JWK, options: TokenVerifierOptions) {
    this.#key = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (this.#key.asymmetricKeyType !== 'rsa' || (this.#key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new Error('the local signing key must be an RSA key of at least 2048 bits');
    }
    this.#options = options;
  }

  async verify(token: string): Promise<Principal> {
    const cached = this.#verified.get(token);
    if (cached !== undefined) {
      // Past its expiry (and the tolerance) the full check below answers TOKEN_EXPIRED.
      if (Date.now() < cached.expiresAt + this.#options.clockToleranceSeconds * 1_000) return cached;
      this.#verified.delete(token);
    }
    const principal = await this.#verifyNow(token);
    if (token.length <= MAX_CACHED_TOKEN_LENGTH) this.#verified.set(token, principal);
    return principal;
  }

  async #verifyNow(token: string): Promise<Principal> {
    const firstDot = token.indexOf('.');
    const lastDot = token.lastIndexOf('.');
    if (firstDot <= 0 || lastDot === firstDot || lastDot === token.length - 1 || token.indexOf('.', firstDot + 1) !== lastDot) fail();
    const headerPart = token.slice(0, firstDot);
    const payloadPart = token.slice(firstDot + 1, lastDot);
    const signaturePart = token.slice(lastDot + 1);
    if (!BASE64URL_PART.test(headerPart) || !BASE64URL_PART.test(payloadPart) || !BASE64URL_PART.test(signaturePart)) fail();

    const header = decodeJsonObject(headerPart);
    if (header.alg !== 'RS256' || 'crit' in header || 'b64' in header) fail();

    const signed = Buffer.from(token.slice(0, lastDot), 'ascii');
    const signature = Buffer.from(signaturePart, 'base64url');
    const valid = await new Promise<boolean>((resolve) => {
      verifySignature('sha256', signed, this.#key, signature, (error, ok) => resolve(error === null && ok));
    });
    if (!valid) fail();

    const payload = decodeJsonObject(payloadPart);
    this.#checkRegisteredClaims(payload);
    return principalFromClaims(payload);
  }

  #checkRegisteredClaims(payload: Record<string, unknown>): void {
    const { issuer, audience, clockToleranceSeconds } = this.#options;
    if (payload.iss !== issuer) fail();
    const aud = payload.aud;
    if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) fail();
    if (typeof payload.sub !== 'string') fail();
    for (const claim of ['iat', 'nbf'] as const) {
      if (payload[claim] !== undefined && typeof payload[claim] !== 'number') fail();
    }
    if (typeof payload.exp !== 'number') fail();
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.nbf === 'number' && payload.nbf > now + clockToleranceSeconds) fail();
    if (payload.exp <= now - clockToleranceSeconds) throw new ApiXError('TOKEN_EXPIRED');
  }
}

/** One answer for every failure, as the jose-based verifier gives: the caller learns nothing about which check failed. */
function fail(): never {
  throw new ApiXError('AUTH_FAILED');
}

function decodeJsonObject(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    fail();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail();
  return value as Record<string, unknown>;
}
