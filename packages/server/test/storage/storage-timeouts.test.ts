import { sql } from 'drizzle-orm';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toErrorResponse } from '../../src/http/api-error-response.js';
import { asApiXError } from '../../src/realtime/apix-gateway.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/database.js';
import { OrganizationRepository } from '../../src/storage/organization-repository.js';
import { classifyStorageError, isStorageUnavailable } from '../../src/storage/storage-errors.js';
import { ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { uniqueId, waitFor } from './support/test-databases.js';

const TIMEOUT_MS = 1_000;

/** The error a storage call settles with (undefined if it succeeded). */
const failureOf = (work: Promise<unknown>): Promise<unknown> => work.then(() => undefined, (error: unknown) => error);

describe('every storage call is bounded by the storage timeout (throwaway PostgreSQL)', () => {
  let server: ThrowawayPostgres;
  let handle: DatabaseHandle;
  let dataDir: string;

  beforeAll(async () => {
    server = await ThrowawayPostgres.start();
    dataDir = await mkdtemp(join(tmpdir(), 'apix-timeouts-'));
    handle = await openDatabase({ url: server.url, dataDir, timeoutMs: TIMEOUT_MS, maxConnections: 2 });
  }, 60_000);

  afterAll(async () => {
    await handle?.close().catch(() => undefined);
    await server?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('a stalled database (SIGSTOP) fails calls as unavailable instead of hanging; thawed, it serves again', async () => {
    const organizations = new OrganizationRepository(handle.db);
    await organizations.create({ id: uniqueId('org'), name: 'before' });
    await server.pause();
    try {
      // More calls than pooled connections: queued ones are bounded too.
      const errors = await Promise.all([1, 2, 3, 4].map(() => failureOf(organizations.findById('org_x'))));
      for (const error of errors) {
        expect(error).toBeInstanceOf(Error);
        expect(isStorageUnavailable(error)).toBe(true);
        expect(asApiXError(error).code).toBe('APIX_ERR_UNAVAILABLE');
        expect(toErrorResponse(error)).toMatchObject({ status: 503, body: { error: { code: 'APIX_ERR_UNAVAILABLE', retryable: true } } });
      }
    } finally {
      await server.resume();
    }
    await waitFor(() => handle.ping().then(() => true, () => false), 20_000, 'the thawed database');
  }, 40_000);

  it('transactions that fail to BEGIN during a stall give their connection back (the pool is not drained)', async () => {
    const organizations = new OrganizationRepository(handle.db);
    // Both pooled connections open and idle, so the stalled transactions get one and fail at BEGIN.
    await Promise.all([1, 2].map(() => handle.db.transaction(async (tx) => tx.execute(sql`SELECT pg_sleep(0.05)`))));
    await server.pause();
    try {
      // Twice as many transactions as pooled connections, all failing at BEGIN.
      const errors = await Promise.all([1, 2, 3, 4].map(() => failureOf(handle.db.transaction(async (tx) => new OrganizationRepository(tx).create({ id: uniqueId('org'), name: 'never' })))));
      for (const error of errors) expect(isStorageUnavailable(error)).toBe(true);
    } finally {
      await server.resume();
    }
    // More transactions than the pool holds, after the stall: each gets a working connection.
    for (let i = 0; i < 4; i++) {
      const id = uniqueId('org');
      await handle.db.transaction(async (tx) => new OrganizationRepository(tx).create({ id, name: `after ${i}` }));
      expect(await organizations.findById(id)).toMatchObject({ name: `after ${i}` });
    }
  }, 40_000);

  it('a stopped database fails calls as unavailable; started again, the pool reconnects', async () => {
    await server.stop();
    const error = await failureOf(handle.ping());
    expect(isStorageUnavailable(error)).toBe(true);
    await server.start();
    await waitFor(() => handle.ping().then(() => true, () => false), 20_000, 'the restarted database');
    const id = uniqueId('org');
    await new OrganizationRepository(handle.db).create({ id, name: 'after' });
    expect(await new OrganizationRepository(handle.db).findById(id)).toMatchObject({ name: 'after' });
  }, 60_000);

  it('a statement running past the timeout is cancelled by the server (statement_timeout)', async () => {
    const error = await failureOf(handle.ping().then(() => handle.db.execute(sql`SELECT pg_sleep(5)`)));
    expect(isStorageUnavailable(error)).toBe(true);
  }, 20_000);

  it('tells a refused row (a NUL character) from an outage', async () => {
    const error = await failureOf(new OrganizationRepository(handle.db).create({ id: uniqueId('org'), name: 'bad\u0000name' }));
    expect(classifyStorageError(error)).toBe('rejected');
    expect(isStorageUnavailable(error)).toBe(false);
  });
});
