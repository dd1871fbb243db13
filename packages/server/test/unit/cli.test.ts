import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../src/identity/signing-key-store.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';
import { ensureBuilt } from '../support/built-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The CLI and `npm start` run from the built output; build once for these tests. */
describe('apix CLI and start-up (built)', () => {
  let dataDir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'apix-cli-'));
  }, 120_000);
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('mints a token the server verifies, with the key kept in the data folder', async () => {
    const { stdout } = await run('node', ['packages/server/dist/cli.js', 'token', '--org', 'acme', '--user', 'alice', '--roles', 'admin,ops'], {
      cwd: root,
      env: { ...process.env, APIX_DATA_DIR: dataDir },
    });
    const key = await loadOrCreateSigningKey(dataDir);
    const principal = await new TokenVerifier(key.publicKey, { issuer: 'apix', audience: 'apix', clockToleranceSeconds: 0 }).verify(stdout.trim());
    expect(principal).toMatchObject({ organizationId: 'acme', userId: 'alice', roles: ['admin', 'ops'] });
  });

  it('refuses a bad organisation id with usage and exit code 2', async () => {
    const failed = run('node', ['packages/server/dist/cli.js', 'token', '--org', 'a/b', '--user', 'x'], { cwd: root, env: { ...process.env, APIX_DATA_DIR: dataDir } });
    await expect(failed).rejects.toMatchObject({ code: 2 });
  });

  it('stops at start-up with one clear line on a bad setting', async () => {
    const failed = run('node', ['packages/server/dist/main.js'], { cwd: root, env: { ...process.env, APIX_DATA_DIR: dataDir, PORT: 'nope' } });
    await expect(failed).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^apix: invalid configuration: PORT="nope": .*\n$/) });
  });

  /** Starts the built server; resolves once the banner is complete (or the deadline passed). */
  async function startBuilt(env: Record<string, string>) {
    const { spawn } = await import('node:child_process');
    const child = spawn('node', ['packages/server/dist/main.js'], { cwd: root, env: { ...process.env, APIX_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 60_000;
    while (!/WebSocket\s+ws:\S+\n[\s\S]*\n\n/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
  }

  it('on loopback: the banner (stderr) names engine and storage, its dev token administers org "dev"; stdout is JSON only; SIGTERM exits 0', async () => {
    const started = await startBuilt({ HOST: '127.0.0.1' });
    const banner = started.stderr();
    expect(banner).toMatch(/engine: memory, storage: embedded PGlite in /);
    expect(banner).toMatch(/API docs\s+http:\/\/\S+\/api\/docs/);
    const url = /HTTP API\s+(http:\/\/\S+)\/api\/v1/.exec(banner)?.[1];
    const token = /(eyJ[\w-]+\.[\w-]+\.[\w-]+)/.exec(banner)?.[1];
    expect(url && token).toBeTruthy();
    const published = await fetch(`${url}/api/v1/channels/agent:demo/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'agent_status_update', payload: { agentId: 'demo', status: 'running' } }),
    });
    expect(published.status).toBe(201);
    // The dev token's organisation exists and its user is an admin: the publisher example's first step works.
    const key = await fetch(`${url}/api/v1/admin/organizations/dev/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'from the dev token', scopes: ['publish'] }),
    });
    expect(key.status).toBe(201);
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    const lines = started.stdout().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => JSON.parse(l) as { msg: string; engine?: string; storage?: string }).find((l) => l.msg === 'apix started')).toMatchObject({
      engine: 'memory',
      storage: expect.stringContaining('embedded PGlite'),
    });
  }, 90_000);

  it('on a public HOST no dev token is printed, and the banner says why', async () => {
    const started = await startBuilt({ HOST: '0.0.0.0' });
    try {
      expect(started.stderr()).toContain('No dev token printed: HOST=0.0.0.0');
      expect(started.stderr()).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      expect(started.stdout()).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    } finally {
      started.child.kill('SIGTERM');
      await started.exited;
    }
  }, 90_000);
});
