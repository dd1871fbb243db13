import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleNodePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePostgres } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import pg from 'pg';
import { PgliteProcess, PGLITE_SOCKET_PORT } from './pglite-process.js';
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
  /** Largest number of connections in the pool (PGlite serialises them behind one session anyway). */
  readonly maxConnections?: number;
  /**
   * Bound on every storage call (default {@link DEFAULT_STORAGE_TIMEOUT_MS}): connecting, each
   * query (client side: a stalled or frozen server fails the call) and each statement (server
   * side, PostgreSQL's `statement_timeout`). A call past it rejects with a storage error that
   * `isStorageUnavailable` recognises. Migrations at start-up are not bounded by it.
   */
  readonly timeoutMs?: number;
  /** Receives errors of idle pooled connections (which would otherwise crash the process). */
  readonly onBackgroundError?: (error: Error) => void;
  /** Receives events of the embedded database's child process (crash, restart). */
  readonly onEmbeddedEvent?: (event: { kind: string; [field: string]: unknown }) => void;
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

/** Default bound on a storage call: long enough for a loaded database, short enough that a stalled one fails callers fast. */
export const DEFAULT_STORAGE_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_CONNECTIONS = 10;
/**
 * One connection to the embedded database. PGlite is a single session, and pglite-socket
 * feeds every connection's protocol messages into it through one queue that only keeps an
 * explicit transaction together: two connections' extended-protocol messages (Parse, Bind…)
 * can interleave, and one's Bind then meets the other's statement (08P01). One pooled
 * connection serialises everything in the pool instead, where STORAGE_TIMEOUT_MS bounds the wait.
 */
const PGLITE_MAX_CONNECTIONS = 1;

/**
 * Opens APIX's storage and brings its schema up to date.
 *
 * With a PostgreSQL URL it uses a node-postgres pool; otherwise an embedded PGlite database
 * in `<dataDir>/pglite`, run in a child process that serves the PostgreSQL wire protocol on
 * a private unix socket (ADR 0010), reached through the same node-postgres pool. Either way
 * every call is bounded by `timeoutMs`, and no query runs on this process's thread.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const url = options.url?.trim() ?? '';
  const migrationsFolder = options.migrationsFolder ?? DEFAULT_MIGRATIONS_FOLDER;
  if (url === '') return openPglite(migrationsFolder, options);
  if (!POSTGRES_URL.test(url)) {
    throw new DatabaseConfigurationError(
      `DATABASE_URL must start with postgres:// or postgresql:// (got "${url.split(':')[0]}:…"); leave it empty for the embedded database`,
    );
  }
  return openPool({ connectionString: url }, 'postgres', migrationsFolder, options, async () => undefined);
}

async function openPglite(migrationsFolder: string, options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  // PGlite creates its own folder but not missing parents.
  await mkdir(options.dataDir, { recursive: true });
  const maxConnections = options.maxConnections ?? PGLITE_MAX_CONNECTIONS;
  const child = await PgliteProcess.start({
    dataDir: join(options.dataDir, 'pglite'),
    // The pool, the migration connection, and one spare for a connection being replaced.
    maxConnections: maxConnections + 2,
    onEvent: (event) => options.onEmbeddedEvent?.(event),
  });
  const connection: pg.PoolConfig = { host: child.socketDir, port: PGLITE_SOCKET_PORT, user: 'postgres', database: 'postgres' };
  return openPool(connection, 'pglite', migrationsFolder, { ...options, maxConnections }, () => child.close());
}

async function openPool(
  connection: pg.PoolConfig,
  kind: DatabaseKind,
  migrationsFolder: string,
  options: OpenDatabaseOptions,
  afterClose: () => Promise<void>,
): Promise<DatabaseHandle> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS;
  try {
    await migrateLocked(connection, migrationsFolder);
  } catch (error) {
    await afterClose();
    throw error;
  }
  const pool = new pg.Pool({
    ...connection,
    max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    // Waiting for a free pooled connection, or for a new one to open.
    connectionTimeoutMillis: timeoutMs,
    // Server side: PostgreSQL cancels a statement running this long (PGlite ignores it; the client bound holds).
    statement_timeout: timeoutMs,
    // Client side, a little later than the server's own bound: a slow statement is cancelled by
    // the server first (so it certainly did not apply), and a server that stopped answering
    // (SIGSTOP, network partition) still fails the call.
    query_timeout: timeoutMs + Math.max(500, Math.round(timeoutMs / 5)),
    // A transaction left open by a crashed caller must not hold locks for ever.
    idle_in_transaction_session_timeout: Math.max(timeoutMs * 6, 30_000),
  });
  pool.on('error', (error) => {
    // An idle client lost its connection; the pool replaces it. Without a listener, Node
    // would treat the 'error' event as fatal.
    options.onBackgroundError?.(error);
  });
  // A checked-out client whose server goes away (shutdown, restart) emits 'error' too; its
  // caller gets the error through the query, and the event must not crash the process.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onBackgroundError?.(error));
    releaseWhenBeginFails(client);
  });
  // A client given back with a query still in flight or a transaction still open (a query
  // timed out inside a transaction: the ROLLBACK never ran) must never serve another caller,
  // whose statements would run inside that transaction: close it (the server rolls back).
  pool.on('release', (error, client) => {
    const idle = client.getTransactionStatus() === 'I' && (client as unknown as { readyForQuery: boolean }).readyForQuery;
    if (!error && !idle) void client.end().catch(() => undefined);
  });
  const db = drizzleNodePostgres({ client: pool, schema });
  let closed: Promise<void> | undefined;
  return {
    db,
    kind,
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => (closed ??= pool.end().finally(afterClose)),
  };
}

/**
 * drizzle-orm's node-postgres `transaction()` checks a client out, then runs BEGIN *before*
 * its try/finally: when BEGIN fails (the database is down or stalled past the timeout) the
 * client is never released, and after a few outages the pool has no client left — every
 * storage call then times out for good. This gives such a client back (destroyed) when a
 * BEGIN on it fails; drizzle does not release it on that path, so it is released once.
 */
function releaseWhenBeginFails(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    const first = args[0] as string | { text?: unknown } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    if (typeof text === 'string' && /^\s*begin\b/i.test(text) && result instanceof Promise) {
      result.catch((error: unknown) => {
        try {
          client.release(error instanceof Error ? error : new Error(String(error)));
        } catch {
          // Already released by its holder: nothing to give back.
        }
      });
    }
    return result;
  };
}

/**
 * Runs the migrations on one dedicated connection (not bounded by the storage timeout: a
 * first migration, or waiting for another node's, may take longer) that holds the migration
 * lock throughout.
 */
async function migrateLocked(connection: pg.PoolConfig, migrationsFolder: string): Promise<void> {
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: 30_000 });
  // A connection error after connect() surfaces on the next query; without a listener it would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateNodePostgres(drizzleNodePostgres({ client, schema }), { migrationsFolder });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
