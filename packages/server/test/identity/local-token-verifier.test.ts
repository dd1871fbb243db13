import { createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalTokenVerifier } from '../../src/identity/local-token-verifier.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';

/**
 * Differential test: the connect path's LocalTokenVerifier (node:crypto) must accept and
 * refuse exactly what the jose-based TokenVerifier does, with the same error codes, over
 * valid tokens and every forgery and claim defect we know of.
 */
const options = { issuer: 'apix', audience: 'apix', clockToleranceSeconds: 5 };
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

let privateKey: CryptoKey;
let publicKey: CryptoKey;
let publicJwk: JWK;
let otherPrivateKey: CryptoKey;

beforeAll(async () => {
  ({ privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true }));
  publicJwk = await exportJWK(publicKey);
  ({ privateKey: otherPrivateKey } = await generateKeyPair('RS256', { modulusLength: 2048 }));
});

const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', org: 'acme', roles: ['member'], iss: 'apix', aud: 'apix', iat: now(), exp: now() + 600, ...extra });
const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey = privateKey) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'RS256', ...header }).sign(key);

/** Re-signs header.payload by hand, so headers jose would refuse to produce can be tested. */
async function rawRs256(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', privateKey, new TextEncoder().encode(input)));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

async function outcome(verifier: { verify(token: string): Promise<unknown> }, token: string): Promise<string> {
  try {
    const principal = await verifier.verify(token);
    return `ok ${JSON.stringify(principal)}`;
  } catch (error) {
    return `error ${(error as { code?: string }).code ?? String(error)}`;
  }
}

const cases: Array<[string, () => Promise<string>]> = [
  ['a valid token', () => sign(claims())],
  ['a valid token with an audience list', () => sign(claims({ aud: ['other', 'apix'] }))],
  ['a token within the clock tolerance of its expiry', () => sign(claims({ exp: now() - 2 }))],
  ['an expired token', () => sign(claims({ exp: now() - 60 }))],
  ['a token not valid yet', () => sign(claims({ nbf: now() + 60 }))],
  ['a token valid from within the tolerance', () => sign(claims({ nbf: now() + 2 }))],
  ['a non-numeric nbf', () => sign(claims({ nbf: 'soon' }))],
  ['a non-numeric iat', () => sign(claims({ iat: 'today' }))],
  ['a non-numeric exp', () => sign(claims({ exp: 'later' }))],
  ['no exp', async () => sign(Object.fromEntries(Object.entries(claims()).filter(([k]) => k !== 'exp')))],
  ['no sub', async () => sign(Object.fromEntries(Object.entries(claims()).filter(([k]) => k !== 'sub')))],
  ['a wrong issuer', () => sign(claims({ iss: 'evil' }))],
  ['no issuer', async () => sign(Object.fromEntries(Object.entries(claims()).filter(([k]) => k !== 'iss')))],
  ['a wrong audience', () => sign(claims({ aud: 'other' }))],
  ['an audience list without ours', () => sign(claims({ aud: ['a', 'b'] }))],
  ['a bad org claim', () => sign(claims({ org: 'a/b' }))],
  ['too many roles', () => sign(claims({ roles: Array.from({ length: 40 }, (_, i) => `r${i}`) }))],
  ['another key', () => sign(claims(), {}, otherPrivateKey)],
  ['a tampered payload', async () => {
    const [h, , s] = (await sign(claims())).split('.');
    return `${h}.${b64(claims({ org: 'victim' }))}.${s}`;
  }],
  ['a tampered signature', async () => {
    const token = await sign(claims());
    return token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  }],
  ['alg none', async () => `${b64({ alg: 'none' })}.${b64(claims())}.`],
  ['alg none with a signature part', async () => `${b64({ alg: 'none' })}.${b64(claims())}.c2ln`],
  ['HS256 keyed with the public key', async () => {
    const input = `${b64({ alg: 'HS256' })}.${b64(claims())}`;
    const mac = createHmac('sha256', JSON.stringify(publicJwk)).update(input).digest('base64url');
    return `${input}.${mac}`;
  }],
  ['an unknown crit header', () => rawRs256({ alg: 'RS256', crit: ['x'], x: 1 }, claims())],
  ['a header that is an array', async () => {
    const [, p, s] = (await sign(claims())).split('.');
    return `${b64([1])}.${p}.${s}`;
  }],
  ['a payload that is not JSON', () => rawRs256({ alg: 'RS256' }, 'not json' as unknown as Record<string, unknown>)],
  ['two parts', async () => (await sign(claims())).split('.').slice(0, 2).join('.')],
  ['four parts', async () => `${await sign(claims())}.x`],
  ['an empty string', async () => ''],
  ['garbage', async () => 'a.b.c'],
  ['a padded signature', async () => `${await sign(claims())}=`],
];

describe('LocalTokenVerifier agrees with the jose-based verifier', () => {
  it.each(cases)('%s', async (_name, make) => {
    const token = await make();
    const local = new LocalTokenVerifier(publicJwk, options);
    const jose = new TokenVerifier(publicKey, options);
    const [mine, reference] = await Promise.all([outcome(local, token), outcome(jose, token)]);
    expect(mine).toBe(reference);
  });

  it('accepts the valid token and refuses the forgeries (the table above is not vacuous)', async () => {
    const local = new LocalTokenVerifier(publicJwk, options);
    expect(await outcome(local, await sign(claims()))).toMatch(/^ok /);
    expect(await outcome(local, await sign(claims({ exp: now() - 60 })))).toBe('error APIX_ERR_TOKEN_EXPIRED');
    expect(await outcome(local, `${b64({ alg: 'none' })}.${b64(claims())}.`)).toBe('error APIX_ERR_AUTH_FAILED');
  });

  it('refuses a key shorter than 2048 bits', async () => {
    const { publicKey: small } = await generateKeyPair('RS256', { modulusLength: 1024, extractable: true }).catch(async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
      return { publicKey: pair.publicKey.export({ format: 'jwk' }) };
    });
    const jwk = 'kty' in (small as object) ? (small as JWK) : await exportJWK(small as CryptoKey);
    expect(() => new LocalTokenVerifier(jwk, options)).toThrow(/2048/);
  });
});
