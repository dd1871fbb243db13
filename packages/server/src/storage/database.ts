import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzleNodePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePostgres } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import pg from 'pg';
import * as schema from './schema.js';

export type StorageSchema = typeof schema;

/** The Drizzle database every repository works with, whichever driver is underneath. */
export type ApixDatabase = PgDatabase<PgQueryResultHKT, StorageSchema>;

/** A transaction handle, as passed to `db.transaction(async (tx) => …)`. */
export type ApixTransaction = PgTransaction<PgQueryResultHKT, StorageSchema, ExtractTablesWithRelations<StorageSchema>>;

/** Either the database or an open transaction: repository helpers accept both. */
export type ApixExecutor = ApixDatabase | ApixTransaction;

export type DatabaseKind = 'postgres' | 'pglite';

export interface OpenDatabaseOptions {
  /** `postgres://…` or `postgresql://…` selects PostgreSQL; empty or absent selects PGlite. */
  readonly url?: string | undefined;
  /** The APIX data folder; PGlite keeps its files in `<dataDir>/pglite`. */
  readonly dataDir: string;
  /** Where the committed SQL migrations are; defaults to the package's `drizzle/` folder. */
  readonly migrationsFolder?: string;
  /** Largest number of PostgreSQL connections in the pool (PGlite always has one). */
  readonly maxConnections?: number;
  /** Receives errors of idle pooled connections (which would otherwise crash the process). */
  readonly onBackgroundError?: (error: Error) => void;
}

export interface DatabaseHandle {
  readonly db: ApixDatabase;
  readonly kind: DatabaseKind;
  /** Resolves when the database answers a trivial query (health checks). */
  ping(): Promise<void>;
  /** Closes the pool or the PGlite instance; safe to call more than once. */
  close(): Promise<void>;
}

export class DatabaseConfigurationError extends Error {
  override name = 'DatabaseConfigurationError';
}

/**
 * The package's migrations folder. This module sits at `src/storage/` (vitest, tsx) and at
 * `dist/storage/` once built; both are two levels below the package root, where
 * `drizzle/` lives (and is published: see `files` in package.json).
 */
export const DEFAULT_MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Two processes migrating the same PostgreSQL at once (a cluster starting together) would
 * race on CREATE TABLE: migrations run under this session-level advisory lock, so the
 * second process waits and then finds nothing left to do. The key is arbitrary but fixed.
 */
const MIGRATION_LOCK_KEY = 0x41504958; // "APIX"

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * Opens APIX's storage and brings its schema up to date.
 *
 * With a PostgreSQL URL it uses a node-postgres pool; otherwise an embedded PGlite database
 * in `<dataDir>/pglite`. PGlite has a single connection: it serialises every query and
 * transaction behind its own mutex (a transaction holds it until commit or rollback), so
 * concurrent callers never interleave. The one rule that follows: inside
 * `db.transaction(async (tx) => …)` use `tx`, never `db`, or PGlite waits on itself.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const url = options.url?.trim() ?? '';
  const migrationsFolder = options.migrationsFolder ?? DEFAULT_MIGRATIONS_FOLDER;
  if (url === '') return openPglite(options.dataDir, migrationsFolder);
  if (!POSTGRES_URL.test(url)) {
    throw new DatabaseConfigurationError(
      `DATABASE_URL must start with postgres:// or postgresql:// (got "${url.split(':')[0]}:…"); leave it empty for the embedded database`,
    );
  }
  return openPostgres(url, migrationsFolder, options);
}

async function openPglite(dataDir: string, migrationsFolder: string): Promise<DatabaseHandle> {
  // PGlite creates its own folder but not missing parents.
  await mkdir(dataDir, { recursive: true });
  const client = await PGlite.create(join(dataDir, 'pglite'));
  const db = drizzlePglite({ client, schema });
  try {
    await migratePglite(db, { migrationsFolder });
  } catch (error) {
    await client.close();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('SELECT 1');
    },
    close: () => (closed ??= client.closed ? Promise.resolve() : client.close()),
  };
}

async function openPostgres(url: string, migrationsFolder: string, options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  pool.on('error', (error) => {
    // An idle client lost its connection; the pool replaces it. Without a listener, Node
    // would treat the 'error' event as fatal.
    options.onBackgroundError?.(error);
  });
  try {
    await migratePostgresLocked(pool, migrationsFolder);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = drizzleNodePostgres({ client: pool, schema });
  let closed: Promise<void> | undefined;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => (closed ??= pool.end()),
  };
}

/** Runs the migrations on one pooled connection that holds the migration lock throughout. */
async function migratePostgresLocked(pool: pg.Pool, migrationsFolder: string): Promise<void> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateNodePostgres(drizzleNodePostgres({ client, schema }), { migrationsFolder });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    // A connection whose state is in doubt is destroyed rather than returned to the pool.
    client.release(failure);
  }
}
