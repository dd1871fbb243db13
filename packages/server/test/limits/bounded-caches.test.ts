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
import { prepareTestStorage } from '../support/test-storage.js';

/**
 * Issue 7, finding 4: caches keyed by what a client chose (unknown API-key ids, made-up
 * channel names, organisations only tokens name) stay bounded. One test per cache, over real
 * storage: a flood of made-up keys, then the cache's size.
 */
const CAP = 50;
const FLOOD = 600;
const SETTINGS = { maxEntries: CAP, refreshAfterMs: 60_000, maxStaleMs: 600_000, loadTimeoutMs: 5_000 };

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

describe('ApiKeyVerifier', () => {
  it('stays bounded under a flood of unknown key ids, and still verifies a real key', async () => {
    await repositories.organizations.create({ id: 'cache-org', name: 'Cache' });
    const real = generateApiKey();
    await repositories.apiKeys.create({ organizationId: 'cache-org', name: 'real', keyPrefix: real.keyId, keyHash: real.secretHash, scopes: ['publish'] });
    const verifier = new ApiKeyVerifier(repositories.apiKeys, SETTINGS);
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
    const settings = new StoredChannelSettings(repositories.channels, SETTINGS);
    for (let i = 0; i < FLOOD; i++) expect(await settings.get('cache-org', `agent:made-up-${i}`)).toBeUndefined();
    expect(settings.cachedEntries).toBeLessThanOrEqual(CAP);
    expect(await settings.get('cache-org', 'agent:real')).toMatchObject({ persistEvents: true });
  });
});

describe('StoredAccessDirectory', () => {
  it('stays bounded under a flood of organisations and users that only tokens name', async () => {
    const directory = new StoredAccessDirectory(repositories, SETTINGS);
    for (let i = 0; i < FLOOD; i++) {
      const principal = userPrincipal({ userId: `u${i}`, organizationId: `made-up-${i}`, roles: ['member'], expiresAt: Date.now() + 60_000 });
      expect(await directory.effectiveRoles(principal)).toEqual(['member']);
    }
    expect(directory.cachedEntries).toBeLessThanOrEqual(3 * CAP);
  });
});
