import { loadOrCreateSigningKey } from '../../packages/server/dist/identity/signing-key-store.js';
import { TokenIssuer } from '../../packages/server/dist/identity/token-issuer.js';
import { boundedParallel } from './bounded-parallel.js';

/** The organisation every scenario's load belongs to. */
export const BENCH_ORGANIZATION = 'bench';

/** How long minted tokens stay valid: longer than any run. */
const TOKEN_TTL_SECONDS = 3_600;
/** Signatures in flight while minting: WebCrypto signs on libuv's thread pool, so a few at once use both cores. */
const MINT_CONCURRENCY = 16;

/** What the ids of an organisation's bench users start with: `bench-u` (then 0, 1, …). */
export function benchUserPrefix(organization: string): string {
  return `${organization}-u`;
}

/** The user id of the n-th bench user of an organisation (`bench-u0`, `bench-u1`, …). */
export function benchUserId(organization: string, n: number): string {
  return `${benchUserPrefix(organization)}${n}`;
}

/**
 * APIX access tokens, minted with the signing key APIX will load from the same data
 * directory (create the book before APIX first starts, so both use one key file). Token n
 * of an organisation is user `<organisation>-u<n>`'s; tokens are minted when first asked
 * for and kept, so asking for 19,000 after 10,000 signs only the 9,000 new ones.
 */
export class TokenBook {
  readonly #issuer: TokenIssuer;
  readonly #tokens = new Map<string, string[]>();

  private constructor(issuer: TokenIssuer) {
    this.#issuer = issuer;
  }

  static async open(dataDir: string): Promise<TokenBook> {
    const key = await loadOrCreateSigningKey(dataDir);
    return new TokenBook(new TokenIssuer(key, { issuer: 'apix', audience: 'apix' }));
  }

  /** Tokens of users 0 … count − 1 of `organization`, in that order. */
  async tokens(count: number, organization = BENCH_ORGANIZATION): Promise<string[]> {
    const tokens = this.#tokens.get(organization) ?? [];
    this.#tokens.set(organization, tokens);
    const start = tokens.length;
    if (count > start) {
      const minted = new Array<string>(count - start);
      await boundedParallel(count - start, MINT_CONCURRENCY, async (i) => {
        minted[i] = await this.#issuer.issue({ userId: benchUserId(organization, start + i), organizationId: organization, ttlSeconds: TOKEN_TTL_SECONDS });
      });
      tokens.push(...minted);
    }
    return tokens.slice(0, count);
  }
}
