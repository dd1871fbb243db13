import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The local PostgreSQL the bench creates its throwaway database on (trust auth, as on the dev machines). */
const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;
const PG_USER = 'postgres';

/** A database for the `apix-pg` target: `url` to pass as DATABASE_URL, `drop()` when the run is over. */
export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * `BENCH_DATABASE_URL` when set (used as is, never dropped); otherwise a fresh database
 * `apix_bench_<random>` made with `createdb` on the local server and dropped after the run,
 * so every run starts from empty tables and leaves nothing behind.
 */
export async function openBenchDatabase(env: NodeJS.ProcessEnv): Promise<BenchDatabase> {
  const given = env.BENCH_DATABASE_URL;
  if (given) return { url: given, drop: async () => undefined };
  const name = `apix_bench_${randomBytes(4).toString('hex')}`;
  const connection = ['-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER];
  await run('createdb', [...connection, name], { timeout: 30_000 });
  return {
    url: `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${name}`,
    // --force: a server that did not stop cleanly may still hold a connection.
    drop: async () => void (await run('dropdb', [...connection, '--if-exists', '--force', name], { timeout: 30_000 })),
  };
}
