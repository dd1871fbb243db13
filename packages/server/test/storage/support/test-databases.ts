import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQL } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type DatabaseHandle, type DatabaseKind } from '../../../src/storage/database.js';
import { createRepositories, type Repositories } from '../../../src/storage/repositories.js';
import { copyPgliteTemplate } from '../../support/test-storage.js';

/**
 * The machine's PostgreSQL (trust auth). Each test file creates its own database from this
 * one and drops it afterwards, so test files running in parallel never share tables.
 */
export const ADMIN_POSTGRES_URL = process.env.APIX_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly kind: DatabaseKind;
  readonly handle: DatabaseHandle;
  /** For PostgreSQL: the URL of this file's private database. */
  readonly url: string | undefined;
  /** For PGlite: the temporary data folder. */
  readonly dataDir: string;
  /** Closes the handle and deletes the database or folder. */
  dispose(): Promise<void>;
}

export const BACKENDS: readonly DatabaseKind[] = ['pglite', 'postgres'];

/** A fresh, migrated database of the given kind. */
export async function openTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-storage-test-'));
  if (kind === 'pglite') {
    // A copy of a migrated template: a fresh initdb costs seconds (much more on a loaded machine).
    await copyPgliteTemplate(dataDir);
    const handle = await openDatabase({ dataDir });
    return {
      kind,
      handle,
      url: undefined,
      dataDir,
      dispose: async () => {
        await handle.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const { url, drop } = await createPostgresDatabase();
  const handle = await openDatabase({ url, dataDir });
  return {
    kind,
    handle,
    url,
    dataDir,
    dispose: async () => {
      await handle.close();
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates an empty PostgreSQL database with a random name; `drop()` removes it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `apix_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A random id in the organisation/user id grammar, unique per test. */
export function uniqueId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Polls until `predicate` holds (or fails after `timeoutMs`). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rows of a raw query; node-postgres and PGlite results both carry `rows`. */
export async function rowsOf<T>(handle: DatabaseHandle, query: SQL): Promise<T[]> {
  const result = (await handle.db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * A fresh database of `kind` for the enclosing describe block, with its repositories: opened
 * before the block's tests, disposed after them. Read the fields inside tests (they are set by
 * the block's beforeAll).
 */
export function useTestDatabase(kind: DatabaseKind): { database: TestDatabase; repos: Repositories } {
  const context = {} as { database: TestDatabase; repos: Repositories };
  beforeAll(async () => {
    context.database = await openTestDatabase(kind);
    context.repos = createRepositories(context.database.handle.db);
  }, 120_000);
  afterAll(async () => {
    await context.database?.dispose();
  }, 60_000);
  return context;
}
