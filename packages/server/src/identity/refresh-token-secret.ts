import { createHash, randomBytes } from 'node:crypto';

/**
 * Refresh tokens look like `apixrt_<43 base64url characters>`: 32 random bytes behind a
 * recognisable prefix (so secret scanners and log reviews can spot them; it differs from the
 * API keys' `apix_`, so the two are never confused). They are opaque — nothing is encoded in
 * them — and only their SHA-256 is stored: with 256 random bits there is no dictionary to
 * attack, so a fast hash is enough, and a database leak reveals no usable token.
 */
export const REFRESH_TOKEN_PREFIX = 'apixrt_';
const REFRESH_TOKEN_BYTES = 32;

export interface RefreshTokenMaterial {
  /** Handed to the client once; never stored or logged. */
  readonly token: string;
  /** What storage keeps and looks the token up by. */
  readonly tokenHash: string;
}

export function generateRefreshToken(): RefreshTokenMaterial {
  const token = `${REFRESH_TOKEN_PREFIX}${randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')}`;
  return { token, tokenHash: hashRefreshToken(token) };
}

/** The storage key of a presented token. Any string hashes: an unknown or malformed token simply matches no row. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
