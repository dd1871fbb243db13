import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `apix_<keyId>_<secret>`: the key id finds the row, the secret is checked
 * against its SHA-256. The secret is 32 random bytes, so a fast hash is enough (no dictionary
 * to attack); the plain key is shown once, at creation, and never stored.
 */
export const API_KEY_PREFIX = 'apix_';
const PATTERN = /^apix_([A-Za-z0-9]{12,32})_([A-Za-z0-9_-]{32,64})$/;

export interface ApiKeyMaterial {
  readonly keyId: string;
  readonly plainKey: string;
  readonly secretHash: string;
}

export function generateApiKey(): ApiKeyMaterial {
  const keyId = randomBytes(9).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, plainKey: `${API_KEY_PREFIX}${keyId}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseApiKey(plainKey: string): { keyId: string; secret: string } | undefined {
  const match = PATTERN.exec(plainKey);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
