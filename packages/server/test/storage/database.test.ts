import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseConfigurationError, DEFAULT_MIGRATIONS_FOLDER, openDatabase, type DatabaseHandle } from '../../src/storage/database.js';
import { ChannelRepository } from '../../src/storage/channel-repository.js';
import { OrganizationRepository } from '../../src/storage/organization-repository.js';
import { channels } from '../../src/storage/schema.js';
import { createPostgresDatabase, rowsOf, uniqueId } from './support/test-databases.js';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('openDatabase', () => {
  it('finds the committed migrations two levels above the module, as from dist/storage', () => {
    expect(DEFAULT_MIGRATIONS_FOLDER).toBe(join(packageRoot, 'drizzle'));
    expect(existsSync(join(DEFAULT_MIGRATIONS_FOLDER, 'meta', '_journal.json'))).toBe(true);
    // The built module sits at dist/storage/database.js: the same relative URL lands on the same folder.
    expect(fileURLToPath(new URL('../../drizzle', new URL('dist/storage/database.js', `file://${packageRoot}`)))).toBe(DEFAULT_MIGRATIONS_FOLDER);
  });

  it('refuses a URL that is not PostgreSQL, naming only the scheme', async () => {
    const error: unknown = await openDatabase({ url: 'mysql://user:secret@db/x', dataDir: tmpdir() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseConfigurationError);
    expect((error as Error).message).toMatch(/mysql/);
    expect((error as Error).message).not.toMatch(/secret/);
  });

  it('fails to open when PostgreSQL is unreachable', async () => {
    await expect(openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', dataDir: tmpdir() })).rejects.toThrow();
  });
});

describe('embedded PGlite', () => {
  let root: string;
  let handle: DatabaseHandle;
  let dataDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'apix-pglite-'));
    // Parent folders that do not exist yet: openDatabase creates them.
    dataDir = join(root, 'missing', 'parents');
    handle = await openDatabase({ dataDir });
    // A first start runs initdb: seconds alone, much longer on a loaded 2-core machine.
  }, 120_000);

  afterAll(async () => {
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  }, 60_000);

  it('lives in <dataDir>/pglite', () => {
    expect(handle.kind).toBe('pglite');
    expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
  });

  it('serialises concurrent transactions on its single connection', async () => {
    const org = uniqueId('org');
    await new ChannelRepository(handle.db).create(org, 'agent:counter');
    // Read-then-write with a pause in between: interleaved transactions would lose updates.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        handle.db.transaction(async (tx) => {
          const where = and(eq(channels.organizationId, org), eq(channels.name, 'agent:counter'));
          const [row] = await tx.select({ subscribers: channels.subscribers }).from(channels).where(where);
          await new Promise((resolve) => setTimeout(resolve, 2));
          await tx.update(channels).set({ subscribers: row!.subscribers + 1 }).where(where);
        }),
      ),
    );
    expect((await new ChannelRepository(handle.db).findByName(org, 'agent:counter'))?.subscribers).toBe(10);
  });

  it('rolls back a failed transaction and keeps serving other callers', async () => {
    const organizations = new OrganizationRepository(handle.db);
    const id = uniqueId('org');
    const failing = handle.db.transaction(async (tx) => {
      await new OrganizationRepository(tx).create({ id, name: 'rolled back' });
      throw new Error('abort');
    });
    const concurrent = organizations.create({ id: uniqueId('org'), name: 'independent' });
    await expect(failing).rejects.toThrow('abort');
    await expect(concurrent).resolves.toMatchObject({ name: 'independent' });
    expect(await organizations.findById(id)).toBeUndefined();
  });

  it('reopens an existing folder with its data, migrations already applied', async () => {
    const id = uniqueId('org');
    await new OrganizationRepository(handle.db).create({ id, name: 'persisted' });
    await handle.close();
    await handle.close(); // idempotent
    handle = await openDatabase({ dataDir });
    expect((await new OrganizationRepository(handle.db).findById(id))?.name).toBe('persisted');
  });
});

describe('PostgreSQL', () => {
  it('lets several processes start at once: migrations run once, under a lock', async () => {
    const { url, drop } = await createPostgresDatabase();
    const handles: DatabaseHandle[] = [];
    try {
      const dataDir = tmpdir();
      handles.push(...(await Promise.all([1, 2, 3].map(() => openDatabase({ url, dataDir, maxConnections: 2 })))));
      expect(handles.map((h) => h.kind)).toEqual(['postgres', 'postgres', 'postgres']);
      const applied = await rowsOf<{ count: number }>(handles[0]!, sql`SELECT count(*)::integer AS count FROM drizzle.__drizzle_migrations`);
      expect(Number(applied[0]!.count)).toBeGreaterThanOrEqual(1);
      const organizations = new OrganizationRepository(handles[1]!.db);
      const id = uniqueId('org');
      await organizations.create({ id, name: 'shared' });
      expect(await new OrganizationRepository(handles[2]!.db).findById(id)).toMatchObject({ name: 'shared' });
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      await drop();
    }
  });
});
