import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../src/identity/signing-key-store.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The CLI and `npm start` run from the built output; build once for these tests. */
describe('apix CLI and start-up (built)', () => {
  let dataDir: string;
  beforeAll(async () => {
    await run('npx', ['tsc', '-b', 'packages/protocol', 'packages/server'], { cwd: root });
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

  it('starts, prints the URLs and a working dev token, and shuts down on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('node', ['packages/server/dist/main.js'], { cwd: root, env: { ...process.env, APIX_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /HTTP API\s+(http:\/\/\S+)\/api\/v1/.exec(out)?.[1];
    const token = /(eyJ[\w-]+\.[\w-]+\.[\w-]+)/.exec(out)?.[1];
    expect(out).toMatch(/API docs\s+http:\/\/\S+\/api\/docs/);
    expect(url && token).toBeTruthy();
    const published = await fetch(`${url}/api/v1/channels/agent:demo/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'agent_status_update', payload: { agentId: 'demo', status: 'running' } }),
    });
    expect(published.status).toBe(201);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
