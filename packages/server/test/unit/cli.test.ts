import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../src/identity/signing-key-store.js';
import { TokenVerifier } from '../../src/identity/token-verifier.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The CLI and `npm start` run from the built output; build once for these tests. */
describe('apix CLI and start-up (built)', () => {
  let dataDir: string;
  beforeAll(async () => {
    await run('npx', ['tsc', '-b', 'packages/protocol', 'packages/sdk', 'packages/server'], { cwd: root });
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

const cli = (args: string[], env: Record<string, string> = {}) => run('node', ['packages/server/dist/cli.js', ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 30_000 });
const failure = (args: string[], env: Record<string, string> = {}) =>
  cli(args, env).then(
    () => {
      throw new Error(`apix ${args.join(' ')} succeeded`);
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('apix help and argument errors', () => {
  beforeAll(async () => {
    await run('npx', ['tsc', '-b', 'packages/protocol', 'packages/sdk', 'packages/server'], { cwd: root });
  }, 120_000);

  it('apix --help, -h, help [command] and <command> --help print usage to stdout and exit 0', async () => {
    const cases = [['--help'], ['-h'], ['help'], ['help', 'tail'], ['token', '--help'], ['publish', '--help'], ['tail', '-h'], ['status', '--help'], ['migrate', '--help']];
    const results = await Promise.all(cases.map((args) => cli(args)));
    for (const { stdout, stderr } of results) {
      expect(stdout).toMatch(/^usage: apix/);
      expect(stderr).toBe('');
    }
    expect(results[3]!.stdout).toMatch(/^usage: apix tail/);
  }, 60_000);

  it('lists every command in the top-level help', async () => {
    const { stdout } = await cli(['--help']);
    for (const command of ['token', 'publish', 'tail', 'status', 'migrate']) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('bad values are errors, never silently defaulted: exit 2, the message on stderr, nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['token', '--org', 'acme', '--user', 'alice', '--ttl', 'abc'], /--ttl must be a whole number greater than 0 \(got "abc"\)/],
      [['token', '--org', 'acme', '--user', 'alice', '--ttl', '0'], /--ttl must be a whole number/],
      [['token', '--org', 'acme', '--user', 'alice', '--bogus'], /Unknown option '--bogus'/],
      [['publish', 'agent:x', '--type', 'note', '--payload', '{not json', '--token', 't'], /--payload must be JSON/],
      [['publish', 'Agent:x', '--type', 'note', '--token', 't'], /channel: unknown channel namespace/],
      [['publish', 'agent:x', '--type', 'note'], /a credential is needed/],
      [['tail', 'agent:x', '--since', 'nonsense', '--token', 't'], /--since must be <epoch>:<offset>/],
      [['tail', 'agent:x', '--count', 'many', '--token', 't'], /--count must be a whole number/],
      [['status', '--url', 'ftp://x'], /--url must be http/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [[], /^usage: apix/],
    ];
    const results = await Promise.all(cases.map(([args]) => failure(args, { APIX_TOKEN: '' })));
    results.forEach((error, i) => {
      expect(error.code, cases[i]![0].join(' ')).toBe(2);
      expect(error.stderr, cases[i]![0].join(' ')).toMatch(cases[i]![1]);
      expect(error.stdout).toBe('');
    });
  }, 60_000);
});

describe('apix publish, tail, status, migrate against a real server', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    await run('npx', ['tsc', '-b', 'packages/protocol', 'packages/sdk', 'packages/server'], { cwd: root });
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
    const { stdout } = await cli(['status'], env);
    expect(stdout).toMatch(/: ready\n/);
    expect(stdout).toMatch(/engine\s+memory/);
    const down = await failure(['status', '--url', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1 .*is the server running/);
  }, 30_000);

  it('migrate brings an embedded database up to date and exits', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'apix-migrate-'));
    try {
      const { stdout } = await cli(['migrate'], { APIX_DATA_DIR: dataDir, DATABASE_URL: '' });
      expect(stdout).toBe(`schema up to date: embedded PGlite in ${dataDir}\n`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
