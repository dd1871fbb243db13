import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/storage/database.js';
import { createPostgresDatabase } from '../storage/support/test-databases.js';

/**
 * Storage for end-to-end tests. Default: PGlite, as `npm start` uses. Set
 * `APIX_TEST_STORAGE=postgres` to run the same tests against the machine's PostgreSQL
 * (each server gets its own database, dropped afterwards).
 *
 * A fresh PGlite folder costs seconds (initdb + migrations), so a migrated template is built
 * once per migrations version and copied for each test server.
 */
export type TestStorageKind = 'pglite' | 'postgres';
export const TEST_STORAGE: TestStorageKind = process.env.APIX_TEST_STORAGE === 'postgres' ? 'postgres' : 'pglite';

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

async function migrationsHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(MIGRATIONS)).filter((f) => f.endsWith('.sql')).sort()) hash.update(await readFile(join(MIGRATIONS, file)));
  return hash.digest('hex').slice(0, 16);
}

let template: Promise<string> | undefined;

async function pgliteTemplate(): Promise<string> {
  const dir = join(tmpdir(), `apix-pglite-template-${await migrationsHash()}`);
  try {
    await stat(join(dir, 'pglite', 'PG_VERSION'));
    return dir;
  } catch {
    // Build it beside, then rename: two test workers racing here both end with a complete template.
    const building = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await mkdir(building, { recursive: true });
    const handle = await openDatabase({ dataDir: building });
    await handle.close();
    try {
      await rename(building, dir);
    } catch {
      await rm(building, { recursive: true, force: true });
    }
    return dir;
  }
}

/** Copies the migrated PGlite template into `<dataDir>/pglite` (whatever APIX_TEST_STORAGE says). */
export async function copyPgliteTemplate(dataDir: string): Promise<void> {
  template ??= pgliteTemplate();
  await cp(join(await template, 'pglite'), join(dataDir, 'pglite'), { recursive: true });
}

/** Prepares storage for a server whose data folder is `dataDir`; returns the settings to start it with and a clean-up. */
export async function prepareTestStorage(dataDir: string): Promise<{ config: { DATABASE_URL?: string }; dispose: () => Promise<void> }> {
  if (TEST_STORAGE === 'pglite') {
    await copyPgliteTemplate(dataDir);
    return { config: {}, dispose: async () => undefined };
  }
  const { url, drop } = await createPostgresDatabase();
  return { config: { DATABASE_URL: url }, dispose: drop };
}
