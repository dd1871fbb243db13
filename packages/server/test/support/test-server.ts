import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApixServer, type ApiXServer, type StartOptions } from '../../src/apix-server.js';
import type { ApiXConfigInput } from '../../src/config/config.js';
import { prepareTestStorage } from './test-storage.js';

export interface TestServer extends ApiXServer {
  /** Mints a token for the server's own issuer. */
  token(claims?: { org?: string; user?: string; roles?: string[]; ttlSeconds?: number }): Promise<string>;
  /** Closes the server and removes its data folder. */
  stop(): Promise<void>;
}

/** Starts a real APIX server on a random loopback port with its own data folder and quiet logs. */
export async function startTestServer(config: Partial<ApiXConfigInput> = {}, options: Omit<StartOptions, 'config'> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-test-'));
  const storage = await prepareTestStorage(dataDir);
  const server = await startApixServer({
    ...options,
    config: {
      PORT: 0,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      APIX_DATA_DIR: dataDir,
      PRINT_DEV_TOKEN: false,
      // Generous on a loaded 2-core test machine; tests of outages set their own.
      STORAGE_TIMEOUT_MS: 30_000,
      // With REDIS_URL, rate-limit counters of one test server never meet another's (or another run's).
      RATE_LIMIT_REDIS_PREFIX: `apix-test:rl:${randomUUID()}`,
      ...storage.config,
      ...config,
    },
  });
  return Object.assign(Object.create(server) as ApiXServer, server, {
    token: (claims: { org?: string; user?: string; roles?: string[]; ttlSeconds?: number } = {}) =>
      server.issuer.issue({
        organizationId: claims.org ?? 'acme',
        userId: claims.user ?? 'alice',
        roles: claims.roles ?? [],
        ttlSeconds: claims.ttlSeconds ?? 3600,
      }),
    stop: async () => {
      await server.close();
      // Nothing outlives its connection: after close, every connection was released, and with
      // it every local hub and broker subscription. A leak here fails the test file.
      const held = server.realtimeStats();
      if (held.connections !== 0 || held.channels !== 0 || (held.brokerSubscriptions ?? 0) !== 0) {
        throw new Error(`leak: the closed server still holds ${JSON.stringify(held)}`);
      }
      await storage.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}
