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
    // STORAGE_TIMEOUT_MS: generous on a loaded 2-core test machine; tests of outages set their own.
    config: { PORT: 0, HOST: '127.0.0.1', LOG_LEVEL: 'silent', APIX_DATA_DIR: dataDir, PRINT_DEV_TOKEN: false, STORAGE_TIMEOUT_MS: 30_000, ...storage.config, ...config },
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
      await storage.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}
