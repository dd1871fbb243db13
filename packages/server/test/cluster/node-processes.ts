import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenIssuer } from '../../src/identity/token-issuer.js';
import { loadOrCreateSigningKey } from '../../src/identity/signing-key-store.js';
import { createPostgresDatabase } from '../storage/support/test-databases.js';
import { freePort } from './redis-processes.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** One APIX node as its own OS process (`node dist/main.js`), as production runs it. */
export class NodeProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.#child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  get pid(): number {
    return this.#child.pid!;
  }

  /** Resident memory of the process, from /proc (bytes). */
  async rssBytes(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#child.exitCode === null) this.#child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface NodeCluster {
  readonly nodes: NodeProcess[];
  token(claims?: { org?: string; user?: string; roles?: string[] }): Promise<string>;
  /** Starts one more node with the cluster's settings (on `port`, or a free one). */
  addNode(port?: number): Promise<NodeProcess>;
  /** Rolling-restart step: SIGTERM node `index`, wait for its exit, start it again on the same port. */
  restart(index: number): Promise<NodeProcess>;
  stop(): Promise<void>;
}

/** Waits until GET /health/ready answers 200. */
export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Real node processes sharing one Redis, one PostgreSQL database and one signing key. Needs
 * a build (`npm run build`; `npm test` builds as part of its type-check).
 */
export async function startNodeCluster(count: number, env: Record<string, string>): Promise<NodeCluster> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-nodes-'));
  const database = await createPostgresDatabase();
  // Create the signing key before any node starts, so they all share it.
  const issuer = new TokenIssuer(await loadOrCreateSigningKey(dataDir), { issuer: 'apix', audience: 'apix' });
  const nodes: NodeProcess[] = [];
  const addNode = async (fixedPort?: number) => {
    const port = fixedPort ?? (await freePort());
    // APIX_TEST_NODE_ARGS: extra node flags for the node processes (e.g. `--cpu-prof --cpu-prof-dir=…` to profile a scenario).
    const nodeArgs = (process.env.APIX_TEST_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, MAIN], {
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        APIX_DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        PRINT_DEV_TOKEN: 'false',
        LOG_LEVEL: process.env.APIX_TEST_NODE_LOG_LEVEL ?? 'silent',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const node = new NodeProcess(port, child);
    nodes.push(node);
    await waitReady(node.url);
    return node;
  };
  // The first one alone: it runs the migrations.
  await addNode();
  await Promise.all(Array.from({ length: count - 1 }, () => addNode()));
  const restart = async (index: number) => {
    const old = nodes[index]!;
    await old.stop();
    const fresh = await addNode(old.port);
    nodes.splice(nodes.indexOf(fresh), 1);
    nodes[index] = fresh;
    return fresh;
  };
  return {
    nodes,
    addNode,
    restart,
    token: (claims = {}) => issuer.issue({ organizationId: claims.org ?? 'acme', userId: claims.user ?? 'alice', roles: claims.roles ?? [], ttlSeconds: 3600 }),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
