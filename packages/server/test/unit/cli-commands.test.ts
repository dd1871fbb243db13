import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { ensureBuilt } from '../support/built-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The built CLI's commands (src/cli/*-command.ts) against a real server. */
const cli = (args: string[], env: Record<string, string> = {}, timeoutMs = 30_000) =>
  run('node', ['packages/server/dist/cli.js', ...args], { cwd: root, env: { ...process.env, ...env }, timeout: timeoutMs });
const failure = (args: string[], env: Record<string, string> = {}) =>
  cli(args, env).then(
    () => {
      throw new Error(`apix ${args.join(' ')} succeeded`);
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('apix publish, tail, status, migrate against a real server', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    await ensureBuilt();
    server = await startTestServer();
    env = { APIX_URL: server.url, APIX_TOKEN: await server.token() };
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('publish prints the position; a refused credential exits 1 with the code', async () => {
    const { stdout } = await cli(['publish', 'agent:cli', '--type', 'agent_status_update', '--payload', '{"agentId":"a","status":"running"}', '--idempotency-key', 'k1'], env);
    expect(JSON.parse(stdout)).toMatchObject({ channel: 'agent:cli', offset: 1, duplicate: false });
    const again = await cli(['publish', 'agent:cli', '--type', 'agent_status_update', '--payload', '{"agentId":"a","status":"running"}', '--idempotency-key', 'k1'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ offset: 1, duplicate: true });
    const refused = await failure(['publish', 'agent:cli', '--type', 'note'], { ...env, APIX_TOKEN: 'not-a-token' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('APIX_ERR_AUTH_FAILED');
  }, 60_000);

  it('tail prints events as JSON lines, says where to resume, and --since resumes there', async () => {
    const child = spawn('node', ['packages/server/dist/cli.js', 'tail', 'agent:tail', '--count', '2'], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = performance.now() + 30_000;
    while (!stderr.includes('tailing agent:tail') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const payload of [1, 2]) {
      const response = await fetch(`${server.url}/api/v1/channels/agent:tail/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.APIX_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'note', payload }),
      });
      expect(response.status).toBe(201);
    }
    expect(await exited).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { offset: number; type: string; payload: number; epoch: string });
    expect(lines).toHaveLength(2);
    expect(lines).toMatchObject([{ type: 'note', offset: 1, payload: 1 }, { type: 'note', offset: 2, payload: 2 }]);
    const resume = /resume with: --since (\S+)/.exec(stderr)?.[1];
    expect(resume).toBe(`${lines[1]!.epoch}:${lines[1]!.offset}`);

    await cli(['publish', 'agent:tail', '--type', 'note', '--payload', '"after"'], env);
    const { stdout: resumed } = await cli(['tail', 'agent:tail', '--since', resume!, '--count', '1'], env);
    expect(JSON.parse(resumed)).toMatchObject({ offset: lines[1]!.offset + 1, payload: 'after' });
  }, 60_000);

  it('tail with a refused credential stops at once and says why', async () => {
    const error = await failure(['tail', 'agent:tail'], { ...env, APIX_TOKEN: 'not-a-token' });
    expect(error.code).toBe(1);
    expect(error.stderr).toContain('auth');
  }, 30_000);

  it('status shows the engine and readiness (exit 0); an unreachable server exits 1 and says so', async () => {
    const { stdout: publicView } = await cli(['status'], { ...env, APIX_TOKEN: '' });
    expect(publicView).toMatch(/: ready\n/);
    expect(publicView).not.toMatch(/engine\s+memory/);
    const operator = await server.token({ user: 'operator', roles: ['platform-admin'] });
    const { stdout } = await cli(['status', '--token', operator], env);
    expect(stdout).toMatch(/: ready\n/);
    expect(stdout).toMatch(/engine\s+memory/);
    const down = await failure(['status', '--url', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1 .*is the server running/);
  }, 30_000);

  it('migrate brings an embedded database up to date and exits', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'apix-migrate-'));
    try {
      // A new PGlite folder runs initdb first: seconds, more on a loaded machine.
      const { stdout } = await cli(['migrate'], { APIX_DATA_DIR: dataDir, DATABASE_URL: '' }, 110_000);
      expect(stdout).toBe(`schema up to date: embedded PGlite in ${dataDir}\n`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
