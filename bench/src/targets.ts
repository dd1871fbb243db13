import { fileURLToPath } from 'node:url';
import type { ClientKind } from './bench-client.js';
import { BENCH_REDIS_PREFIX, BENCH_REDIS_URL } from './redis-cleanup.js';

export type TargetId = 'apix' | 'apix-pg' | 'apix-redis' | 'ws' | 'socketio';
export const TARGET_IDS: readonly TargetId[] = ['apix', 'apix-pg', 'apix-redis', 'ws', 'socketio'];

/** Where a run keeps its state: what a target's server is started with. */
export interface TargetEnvironment {
  /** APIX_DATA_DIR (holds the signing key the tokens were minted with). */
  readonly dataDir: string;
  /** The run's throwaway PostgreSQL database (bench-database.ts), or why there is none. */
  readonly databaseUrl: string | { readonly unavailable: string };
}

/** A server under test: how to start it and how clients reach it. */
export interface Target {
  readonly id: TargetId;
  readonly label: string;
  /** `subject`: APIX in some configuration; `baseline`: what its figures are divided by. */
  readonly role: 'subject' | 'baseline';
  readonly clientKind: ClientKind;
  /** The server's entry script. */
  readonly script: string;
  /** Whether clients must present a bearer token (baselines accept one unread). */
  readonly authenticated: boolean;
  url(port: number): string;
  env(port: number, environment: TargetEnvironment): Record<string, string>;
}

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export const APIX_MAIN = here('../../packages/server/dist/main.js');

/** APIX as the bench runs it (see README: what differs from the defaults and why). */
function apixEnv(port: number, environment: TargetEnvironment): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    APIX_DATA_DIR: environment.dataDir,
    LOG_LEVEL: 'warn',
    PRINT_DEV_TOKEN: 'false',
    // The max-throughput phase queues bursts; the default 8 MB cap would close subscribers as slow consumers.
    MAX_SEND_BUFFER_BYTES: String(64 * 1024 * 1024),
    // The publish scenario measures one connection's ceiling; the per-connection request
    // limit (2,000/s by default) would measure the limit instead.
    RATE_LIMIT_REQUESTS_PER_SECOND: '0',
    // One organisation holds every bench connection and publish: lift the per-organisation
    // and per-channel caps (docs/limits.md) so the scenarios measure the server, not the caps.
    CHANNEL_PUBLISH_RATE_LIMIT: '0',
    QUOTA_PUBLISHES_PER_SECOND: String(1_000_000_000),
    QUOTA_PUBLISH_BYTES_PER_SECOND: String(1_000_000_000_000),
    QUOTA_CONNECTIONS: String(1_000_000),
    QUOTA_SUBSCRIPTIONS: String(100_000_000),
    QUOTA_HISTORY_BYTES: String(64 * 1024 * 1024 * 1024),
  };
}

/** DATABASE_URL for the PostgreSQL variant; throws (failing that target only) when the run has no database. */
export function requireDatabaseUrl(environment: TargetEnvironment): string {
  if (typeof environment.databaseUrl !== 'string') throw new Error(`no PostgreSQL database: ${environment.databaseUrl.unavailable}`);
  return environment.databaseUrl;
}

export const TARGETS: Record<TargetId, Target> = {
  apix: {
    id: 'apix',
    label: 'APIX',
    role: 'subject',
    clientKind: 'ws',
    script: APIX_MAIN,
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: apixEnv,
  },
  'apix-pg': {
    id: 'apix-pg',
    label: 'APIX (PG)',
    role: 'subject',
    clientKind: 'ws',
    script: APIX_MAIN,
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: (port, environment) => ({ ...apixEnv(port, environment), DATABASE_URL: requireDatabaseUrl(environment) }),
  },
  /**
   * APIX on the Redis engine (streams + Pub/Sub) on BENCH_REDIS_URL (default: the machine's
   * Redis), under a key prefix of this run (redis-cleanup.ts deletes its keys afterwards).
   * Embedded storage otherwise, as `apix`, so the two columns differ only by the engine.
   */
  'apix-redis': {
    id: 'apix-redis',
    label: 'APIX (Redis)',
    role: 'subject',
    clientKind: 'ws',
    script: APIX_MAIN,
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: (port, environment) => ({
      ...apixEnv(port, environment),
      REDIS_URL: BENCH_REDIS_URL,
      REDIS_KEY_PREFIX: BENCH_REDIS_PREFIX,
      // Rate-limit counters under the run's prefix too, so the cleanup finds them.
      RATE_LIMIT_REDIS_PREFIX: `${BENCH_REDIS_PREFIX}:rl`,
    }),
  },
  ws: {
    id: 'ws',
    label: 'raw ws',
    role: 'baseline',
    clientKind: 'ws',
    script: here('./baseline-ws-server.js'),
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: (port) => ({ PORT: String(port), HOST: '127.0.0.1' }),
  },
  socketio: {
    id: 'socketio',
    label: 'Socket.IO',
    role: 'baseline',
    clientKind: 'socketio',
    script: here('./baseline-socketio-server.js'),
    authenticated: false,
    url: (port) => `http://127.0.0.1:${port}`,
    env: (port) => ({ PORT: String(port), HOST: '127.0.0.1' }),
  },
};
