import { loadOrCreateSigningKey } from '../../packages/server/dist/identity/signing-key-store.js';
import { TokenIssuer } from '../../packages/server/dist/identity/token-issuer.js';

export const BENCH_ORGANIZATION = 'bench';

/**
 * Mints `count` access tokens (users bench-u0…) with the signing key APIX will load from the
 * same data directory. Call before the first APIX start, so both use one key file.
 */
export async function mintTokens(dataDir: string, count: number): Promise<string[]> {
  const key = await loadOrCreateSigningKey(dataDir);
  const issuer = new TokenIssuer(key, { issuer: 'apix', audience: 'apix' });
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(await issuer.issue({ userId: `bench-u${i}`, organizationId: BENCH_ORGANIZATION, ttlSeconds: 3_600 }));
  }
  return tokens;
}
