import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/database.js';
import { isStorageUnavailable } from '../../src/storage/storage-errors.js';
import { copyPgliteTemplate } from '../support/test-storage.js';
import { childPids, isAlive } from './support/process-tree.js';
import { waitFor } from './support/test-databases.js';

const FIXTURE = fileURLToPath(new URL('./support/hold-embedded-database.ts', import.meta.url));

/** The embedded database's child among `pids`: the one running bin/pglite-server.js. */
async function pgliteChildOf(parent: number): Promise<number> {
  for (const pid of await childPids(parent)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('pglite-server.js')) return pid;
  }
  throw new Error(`no embedded database child under ${parent}`);
}

describe('embedded PGlite in a child process', () => {
  let root: string;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'apix-embedded-'));
    // Copies of a migrated template: a fresh initdb per folder would cost seconds each.
    await copyPgliteTemplate(join(root, 'in-process'));
    await copyPgliteTemplate(join(root, 'killed-parent'));
    handle = await openDatabase({ dataDir: join(root, 'in-process'), timeoutMs: 1_000 });
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('runs queries in a child process, not on this thread', async () => {
    const child = await pgliteChildOf(process.pid);
    expect(child).not.toBe(process.pid);
    const result = (await handle.db.execute(sql`SELECT count(*)::integer AS n FROM organizations`)) as unknown as { rows: Array<{ n: number }> };
    expect(result.rows[0]!.n).toBeGreaterThanOrEqual(0);
  });

  it('a frozen child makes calls fail fast as storage-unavailable; thawed, it serves again', async () => {
    const child = await pgliteChildOf(process.pid);
    process.kill(child, 'SIGSTOP');
    try {
      const error: unknown = await handle.ping().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(isStorageUnavailable(error)).toBe(true);
    } finally {
      process.kill(child, 'SIGCONT');
    }
    await waitFor(() => handle.ping().then(() => true, () => false), 20_000, 'the thawed database to answer');
  }, 30_000);

  it('a crashed child is started again; meanwhile calls fail as storage-unavailable', async () => {
    const before = await pgliteChildOf(process.pid);
    process.kill(before, 'SIGKILL');
    await waitFor(async () => !(await isAlive(before)), 10_000, 'the child to die');
    const error: unknown = await handle.ping().then(() => undefined, (e: unknown) => e);
    // Either the restart already won the race, or the call failed as unavailable — never hung or internal.
    if (error !== undefined) expect(isStorageUnavailable(error)).toBe(true);
    await waitFor(() => handle.ping().then(() => true, () => false), 30_000, 'the restarted database to answer');
    expect(await pgliteChildOf(process.pid)).not.toBe(before);
  }, 45_000);

  it('the child never outlives its server, even when the server is SIGKILLed', async () => {
    const server = spawn(process.execPath, ['--import', 'tsx', FIXTURE, join(root, 'killed-parent')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: server.stdout! }).once('line', resolve);
        server.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
      });
      const child = await pgliteChildOf(server.pid!);
      expect(JSON.parse(line).children).toContain(child);
      server.kill('SIGKILL');
      await waitFor(async () => !(await isAlive(child)), 20_000, 'the orphaned child to exit');
    } finally {
      server.kill('SIGKILL');
    }
  }, 60_000);
});
