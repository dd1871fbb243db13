import { fileURLToPath } from 'node:url';
import type { ClientKind } from './bench-client.js';
import { BENCH_REDIS_PREFIX, BENCH_REDIS_URL } from './redis-cleanup.js';

export type TargetId = 'apix' | 'apix-redis' | 'ws' | 'socketio';

/** A server under test: how to start it and how clients reach it. */
export interface Target {
  readonly id: TargetId;
  readonly label: string;
  readonly clientKind: ClientKind;
  /** The server's entry script. */
  readonly script: string;
  /** Whether clients must present a bearer token (baselines accept one unread). */
  readonly authenticated: boolean;
  url(port: number): string;
  env(port: number, dataDir: string): Record<string, string>;
}

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export const TARGETS: Record<TargetId, Target> = {
  apix: {
    id: 'apix',
    label: 'APIX',
    clientKind: 'ws',
    script: here('../../packages/server/dist/main.js'),
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: (port, dataDir) => ({
      PORT: String(port),
      HOST: '127.0.0.1',
      APIX_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PRINT_DEV_TOKEN: 'false',
      // The max-throughput phase queues bursts; the default 8 MB cap would close subscribers as slow consumers.
      MAX_SEND_BUFFER_BYTES: String(64 * 1024 * 1024),
      // The publish scenario measures one connection's ceiling; the per-connection request
      // limit (2,000/s by default) would measure the limit instead.
      RATE_LIMIT_REQUESTS_PER_SECOND: '0',
    }),
  },
  /**
   * APIX on the Redis engine (streams + Pub/Sub), on BENCH_REDIS_URL (default: the machine's
   * Redis) under a key prefix of this run. Same settings as `apix` otherwise.
   */
  'apix-redis': {
    id: 'apix-redis',
    label: 'APIX (Redis)',
    clientKind: 'ws',
    script: here('../../packages/server/dist/main.js'),
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: (port, dataDir) => ({
      PORT: String(port),
      HOST: '127.0.0.1',
      APIX_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PRINT_DEV_TOKEN: 'false',
      MAX_SEND_BUFFER_BYTES: String(64 * 1024 * 1024),
      RATE_LIMIT_REQUESTS_PER_SECOND: '0',
      REDIS_URL: BENCH_REDIS_URL,
      REDIS_KEY_PREFIX: BENCH_REDIS_PREFIX,
    }),
  },
  ws: {
    id: 'ws',
    label: 'raw ws',
    clientKind: 'ws',
    script: here('./baseline-ws-server.js'),
    authenticated: true,
    url: (port) => `ws://127.0.0.1:${port}/ws`,
    env: (port) => ({ PORT: String(port), HOST: '127.0.0.1' }),
  },
  socketio: {
    id: 'socketio',
    label: 'Socket.IO',
    clientKind: 'socketio',
    script: here('./baseline-socketio-server.js'),
    authenticated: false,
    url: (port) => `http://127.0.0.1:${port}`,
    env: (port) => ({ PORT: String(port), HOST: '127.0.0.1' }),
  },
};
