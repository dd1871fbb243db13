import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A port that is free now, with port + 10000 (a cluster node's bus port) free as well. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args])).stdout.trim();
}

/** A throwaway redis-server this test owns (never the machine's): stop, pause and restart it. */
export class RedisProcess {
  readonly port: number;
  readonly dir: string;
  readonly #extraArgs: string[];
  readonly #env: NodeJS.ProcessEnv | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string, extraArgs: string[], env: NodeJS.ProcessEnv | undefined) {
    this.port = port;
    this.dir = dir;
    this.#extraArgs = extraArgs;
    this.#env = env;
  }

  /** Without persistence (no RDB, no AOF) unless `extraArgs` says otherwise; `env` adds to the server's environment (libfaketime, say). */
  static async start(extraArgs: string[] = [], port?: number, env?: NodeJS.ProcessEnv): Promise<RedisProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'apix-redis-'));
    const process = new RedisProcess(port ?? (await freePort()), dir, extraArgs, env);
    await process.#spawn();
    return process;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async #spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', ...this.#extraArgs],
      { stdio: 'ignore', env: this.#env ? { ...process.env, ...this.#env } : process.env },
    );
    this.#child = child;
    await until(async () => (await cli(this.port, 'ping')) === 'PONG', `redis-server on ${this.port}`);
  }

  /** SIGKILL and start again on the same port: without persistence every key is gone. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of three masters (no replicas) on free ports, started and joined here. */
export class RedisCluster {
  readonly nodes: RedisProcess[];

  private constructor(nodes: RedisProcess[]) {
    this.nodes = nodes;
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const nodes: RedisProcess[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(await RedisProcess.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000']));
      }
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
      for (const node of nodes) {
        await until(async () => (await cli(node.port, 'cluster', 'info')).includes('cluster_state:ok'), `cluster state on ${node.port}`);
      }
      return new RedisCluster(nodes);
    } catch (error) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw error;
    }
  }

  /** `host:port,…` as REDIS_CLUSTER_NODES takes it. */
  get seedList(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

/** Deletes every key under `prefix` (tests on the machine's shared Redis clean up after themselves). */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}
