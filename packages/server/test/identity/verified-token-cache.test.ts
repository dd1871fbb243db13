import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/identity/signing-key-store.js';
import { TokenIssuer } from '../../src/identity/token-issuer.js';
import { LocalTokenVerifier } from '../../src/identity/local-token-verifier.js';

/** The verifier remembers tokens it verified (RSA is costly per HTTP request); what it must still refuse. */
let dataDir: string;
let key: SigningKey;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'apix-tv-'));
  key = await loadOrCreateSigningKey(dataDir);
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const settings = { issuer: 'apix', audience: 'apix' };

describe('LocalTokenVerifier with its cache of verified tokens', () => {
  it('answers a verified token again until it expires, then TOKEN_EXPIRED', async () => {
    const verifier = new LocalTokenVerifier(key.publicJwk, { ...settings, clockToleranceSeconds: 0 });
    const token = await new TokenIssuer(key, settings).issue({ organizationId: 'acme', userId: 'ann', roles: ['member'], ttlSeconds: 2 });
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toEqual(first);
    const deadline = performance.now() + 10_000;
    for (;;) {
      const outcome = await verifier.verify(token).then(() => 'valid', (error: { code?: string }) => error.code);
      if (outcome === 'APIX_ERR_TOKEN_EXPIRED') break;
      expect(outcome).toBe('valid');
      if (performance.now() > deadline) throw new Error('a cached token outlived its expiry');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('refuses a token whose signature was altered, even after the genuine one was cached', async () => {
    const verifier = new LocalTokenVerifier(key.publicJwk, { ...settings, clockToleranceSeconds: 0 });
    const token = await new TokenIssuer(key, settings).issue({ organizationId: 'acme', userId: 'ann', roles: [], ttlSeconds: 60 });
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), org: 'globex' })).toString('base64url');
    await expect(verifier.verify(`${header}.${forgedPayload}.${signature}`)).rejects.toMatchObject({ code: 'APIX_ERR_AUTH_FAILED' });
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(verifier.verify(`${header}.${payload}.${flipped}`)).rejects.toMatchObject({ code: 'APIX_ERR_AUTH_FAILED' });
  });
});
