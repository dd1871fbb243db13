import { randomFillSync } from 'node:crypto';

/** Refilled in one call; 4 KiB serves ~340 connection ids. */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/**
 * `bytes` bytes from the CSPRNG as unpadded base64url, for ids and epochs made per connection,
 * per subscription or per new channel. `randomBytes(n)` asks OpenSSL once per call; drawing from
 * a pooled buffer (what `crypto.randomUUID()` does internally) turns ~10,000 calls per second on
 * the connect path into a few dozen. Every byte is handed out once.
 */
export function randomToken(bytes: number): string {
  if (bytes > POOL_BYTES) throw new RangeError(`randomToken: at most ${POOL_BYTES} bytes`);
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const token = pool.toString('base64url', used, used + bytes);
  used += bytes;
  return token;
}
