import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApixServer, type ApiXServer } from '../../src/apix-server.js';
import type { ApiXConfigInput } from '../../src/config/config.js';
import { createPostgresDatabase } from '../storage/support/test-databases.js';

export interface InProcessCluster {
  readonly nodes: ApiXServer[];
  token(claims?: { org?: string; user?: string; roles?: string[] }): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Several APIX nodes in this process sharing what a real cluster shares: one Redis (under a
 * key prefix of their own), one PostgreSQL database and one signing key (the data folder).
 * For the data paths across nodes; the fault tests use separate processes.
 */
export async function startInProcessCluster(count: number, redis: Partial<ApiXConfigInput>): Promise<InProcessCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-cluster-'));
  const database = await createPostgresDatabase();
  const nodes: ApiXServer[] = [];
  const config = { PORT: 0, HOST: '127.0.0.1', LOG_LEVEL: 'silent', APIX_DATA_DIR: dataDir, PRINT_DEV_TOKEN: false, DATABASE_URL: database.url, ...redis } as const;
  // One after the other: the first creates the signing key and runs the migrations.
  for (let i = 0; i < count; i++) nodes.push(await startApixServer({ config }));
  return {
    nodes,
    token: (claims = {}) =>
      nodes[0]!.issuer.issue({ organizationId: claims.org ?? 'acme', userId: claims.user ?? 'alice', roles: claims.roles ?? [], ttlSeconds: 3600 }),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.close()));
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
