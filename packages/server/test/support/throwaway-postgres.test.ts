import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThrowawayPostgres } from './throwaway-postgres.js';

/** One query on a fresh connection, bounded so a frozen server fails the call instead of hanging. */
async function selectOne(url: string, timeoutMs: number): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ one: number }>('SELECT 1 AS one');
    return result.rows[0]!.one;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('ThrowawayPostgres', () => {
  let server: ThrowawayPostgres;

  beforeAll(async () => {
    server = await ThrowawayPostgres.start();
  }, 60_000);

  afterAll(async () => {
    await server?.destroy();
  }, 60_000);

  it('serves on its own port, never 5432', async () => {
    expect(server.port).not.toBe(5432);
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    expect(await selectOne(server.url, 10_000)).toBe(1);
  });

  it('pause freezes the postmaster and backends; resume thaws them (an open connection survives)', async () => {
    const held = new pg.Client({ connectionString: server.url });
    held.on('error', () => undefined);
    await held.connect();
    try {
      await server.pause();
      // A query on the held connection and a new connection both wait: nothing answers.
      const stalled = held.query('SELECT 2 AS two');
      await expect(selectOne(server.url, 1_000)).rejects.toThrow();
      const raced = await Promise.race([stalled.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
      expect(raced).toBe('waiting');
      await server.resume();
      expect((await stalled).rows[0]).toEqual({ two: 2 });
      expect(await selectOne(server.url, 10_000)).toBe(1);
    } finally {
      await held.end().catch(() => undefined);
    }
  }, 30_000);

  it('stop refuses connections; start brings the same cluster back on the same port', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query('CREATE TABLE survives (n integer)');
    await client.query('INSERT INTO survives VALUES (42)');
    await client.end();

    await server.stop();
    await expect(selectOne(server.url, 2_000)).rejects.toThrow();
    await server.start();

    const again = new pg.Client({ connectionString: server.url });
    await again.connect();
    try {
      expect((await again.query('SELECT n FROM survives')).rows).toEqual([{ n: 42 }]);
    } finally {
      await again.end();
    }
  }, 60_000);
});
