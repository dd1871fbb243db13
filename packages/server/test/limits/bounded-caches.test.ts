import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiXError } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoredChannelSettings } from '../../src/channels/channel-settings.js';
import { StoredAccessDirectory } from '../../src/identity/access-directory.js';
import { generateApiKey } from '../../src/identity/api-key-secret.js';
import { ApiKeyVerifier } from '../../src/identity/api-key-verifier.js';
import { userPrincipal } from '../../src/identity/principal.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/database.js';
import { createRepositories, type Repositories } from '../../src/storage/repositories.js';
import { TtlCache } from '../../src/support/ttl-cache.js';
import { prepareTestStorage } from '../support/test-storage.js';

/**
 * Issue 7, finding 4: caches keyed by what a client chose (unknown API-key ids, made-up
 * channel names, organisations only tokens name) stay bounded. One test per cache, over real
 * storage: a flood of made-up keys, then the cache's size.
 */
const CAP = 50;
const FLOOD = 600;

let dataDir: string;
let storage: { config: { DATABASE_URL?: string }; dispose: () => Promise<void> };
let database: DatabaseHandle;
let repositories: Repositories;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'apix-caches-'));
  storage = await prepareTestStorage(dataDir);
  database = await openDatabase({ ...(storage.config.DATABASE_URL ? { url: storage.config.DATABASE_URL } : {}), dataDir });
  repositories = createRepositories(database.db);
});
afterAll(async () => {
  await database.close();
  await storage.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

describe('TtlCache', () => {
  it('evicts the least recently used entry past its cap', async () => {
    const cache = new TtlCache<string, number>(60_000, { maxEntries: CAP });
    for (let i = 0; i < FLOOD; i++) await cache.get(`k${i}`, async () => i);
    expect(cache.size).toBe(CAP);
    let loads = 0;
    expect(await cache.get(`k${FLOOD - 1}`, async () => ++loads)).toBe(FLOOD - 1); // recent: still cached
    expect(await cache.get('k0', async () => ++loads)).toBe(1); // evicted: loaded again
  });

  it('still shares one load between concurrent misses, and does not keep a failed load', async () => {
    const cache = new TtlCache<string, number>(60_000, { maxEntries: CAP });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return 7;
    };
    expect(await Promise.all([cache.get('a', load), cache.get('a', load)])).toEqual([7, 7]);
    expect(loads).toBe(1);
    await expect(cache.get('b', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await new Promise((r) => setTimeout(r, 0));
    expect(await cache.get('b', async () => 8)).toBe(8);
  });
});

describe('ApiKeyVerifier', () => {
  it('stays bounded under a flood of unknown key ids, and still verifies a real key', async () => {
    await repositories.organizations.create({ id: 'cache-org', name: 'Cache' });
    const real = generateApiKey();
    await repositories.apiKeys.create({ organizationId: 'cache-org', name: 'real', keyPrefix: real.keyId, keyHash: real.secretHash, scopes: ['publish'] });
    const verifier = new ApiKeyVerifier(repositories.apiKeys, 60_000, { maxEntries: CAP });
    for (let i = 0; i < FLOOD; i++) {
      const madeUp = generateApiKey();
      await expect(verifier.verify(madeUp.plainKey)).rejects.toBeInstanceOf(ApiXError);
    }
    expect(verifier.cachedEntries).toBeLessThanOrEqual(CAP);
    expect(await verifier.verify(real.plainKey)).toMatchObject({ kind: 'api_key', organizationId: 'cache-org' });
  });
});

describe('StoredChannelSettings', () => {
  it('stays bounded under a flood of made-up channel names', async () => {
    await repositories.channels.create('cache-org', 'agent:real', { persistEvents: true });
    const settings = new StoredChannelSettings(repositories.channels, 60_000, { maxEntries: CAP });
    for (let i = 0; i < FLOOD; i++) expect(await settings.get('cache-org', `agent:made-up-${i}`)).toBeUndefined();
    expect(settings.cachedEntries).toBeLessThanOrEqual(CAP);
    expect(await settings.get('cache-org', 'agent:real')).toMatchObject({ persistEvents: true });
  });
});

describe('StoredAccessDirectory', () => {
  it('stays bounded under a flood of organisations and users that only tokens name', async () => {
    const directory = new StoredAccessDirectory(repositories, 60_000, { maxEntries: CAP });
    for (let i = 0; i < FLOOD; i++) {
      const principal = userPrincipal({ userId: `u${i}`, organizationId: `made-up-${i}`, roles: ['member'], expiresAt: Date.now() + 60_000 });
      expect(await directory.effectiveRoles(principal)).toEqual(['member']);
    }
    expect(directory.cachedEntries).toBeLessThanOrEqual(3 * CAP);
  });
});
