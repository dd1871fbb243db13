import { WebSocket } from 'ws';
import { afterEach, beforeEach, expect } from 'vitest';
import { ApiXClient, type ApiXClientOptions } from '../../src/index.js';
import { FakeServer, type FakeServerOptions } from './fake-server.js';

/**
 * Per-test fake server and clients. Clients get short delays so reconnect tests run in
 * milliseconds; each test's clients are disconnected and its server closed afterwards,
 * and every frame the SDK sent must have matched the protocol schema.
 */
export function useHarness(serverOptions: FakeServerOptions = {}): {
  server: () => FakeServer;
  /** A client for the test's server (or for `url`), with short delays. */
  client: (options?: Partial<ApiXClientOptions> & { url?: string }) => ApiXClient;
} {
  let server: FakeServer | undefined;
  const clients: ApiXClient[] = [];

  beforeEach(async () => {
    server = await FakeServer.start(serverOptions);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    const current = server;
    server = undefined;
    if (!current) return;
    await current.close();
    expect(current.invalidFrames, 'frames the SDK sent that the protocol schema refuses').toEqual([]);
  });

  return {
    server: () => {
      if (!server) throw new Error('no server: call inside a test');
      return server;
    },
    client: ({ url, ...options } = {}) => {
      if (!server) throw new Error('no server: call inside a test');
      const client = new ApiXClient(url ?? server.url, {
        token: 'good',
        WebSocket,
        minReconnectDelayMs: 5,
        maxReconnectDelayMs: 20,
        connectTimeoutMs: 2000,
        requestTimeoutMs: 2000,
        heartbeat: { enabled: false },
        ...options,
      });
      clients.push(client);
      return client;
    },
  };
}

/** Resolves after `ms` (for "nothing more happens" checks only; keep it short). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
