import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Builds protocol, SDK (with its browser bundle) and server (`tsc -b` is incremental),
 * serialised across test workers and packages with a directory lock, so two files that need
 * the built output never write it at once. Every test that runs built code calls this.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(tmpdir(), 'apix-test-build.lock');
  const deadline = performance.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (performance.now() > deadline) throw new Error(`could not take ${lock} (remove it if no test run is building)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await run(join(REPOSITORY_ROOT, 'node_modules/.bin/tsc'), ['-b', 'packages/protocol', 'packages/sdk', 'packages/server'], { cwd: REPOSITORY_ROOT });
    await run('npm', ['run', 'build:browser', '-w', '@apix/sdk'], { cwd: REPOSITORY_ROOT });
  } finally {
    await rmdir(lock);
  }
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly wsUrl: string;
  /** Tokens minted by the process itself, one per user named in `users`. */
  readonly tokens: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the built server in its own process (so a test can change its environment: a faked
 * clock, a signal) and reports its port and tokens as one JSON line on stdout.
 */
export async function startServerProcess(options: { config: Record<string, unknown>; users: string[]; env?: NodeJS.ProcessEnv }): Promise<ServerProcess> {
  const script = `
    import { startApixServer } from './packages/server/dist/apix-server.js';
    const server = await startApixServer({ config: ${JSON.stringify({ PORT: 0, HOST: '127.0.0.1', LOG_LEVEL: 'silent', PRINT_DEV_TOKEN: false, ...options.config })} });
    const tokens = {};
    for (const user of ${JSON.stringify(options.users)}) tokens[user] = await server.issuer.issue({ organizationId: 'acme', userId: user, roles: [], ttlSeconds: 3600 });
    console.log(JSON.stringify({ port: server.port, tokens }));
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  `;
  const child = spawn('node', ['--input-type=module', '-e', script], { cwd: REPOSITORY_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ port: number; tokens: Record<string, string> }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server process did not start: ${stderr}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number; tokens: Record<string, string> });
      }
    });
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    wsUrl: `ws://127.0.0.1:${ready.port}/ws`,
    tokens: ready.tokens,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
