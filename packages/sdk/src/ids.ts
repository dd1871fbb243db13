/**
 * Idempotency keys for publishes. A key must be unique per logical publish across the
 * idempotency window (5 minutes) and across every client of the organisation, so it is
 * random (122 bits from a v4 UUID), not a counter.
 */
export function newIdempotencyKey(): string {
  const cryptoApi = globalThis.crypto as Crypto | undefined;
  // randomUUID needs a secure context in browsers (https or localhost); getRandomValues does not.
  if (cryptoApi && typeof cryptoApi.randomUUID === 'function') return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (cryptoApi && typeof cryptoApi.getRandomValues === 'function') {
    cryptoApi.getRandomValues(bytes);
  } else {
    // FIXME(no-crypto): without Web Crypto keys come from Math.random; two clients could
    // collide and one publish would be taken for the other's retry. Every supported runtime has Web Crypto.
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
