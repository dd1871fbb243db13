import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { childPids } from '../storage/support/process-tree.js';

const run = promisify(execFile);

/** How long `pg_ctl` may take to start or stop the cluster before the test fails. */
const PG_CTL_TIMEOUT_SECONDS = 60;

/**
 * A PostgreSQL cluster of its own for tests that stop, restart or stall the database: own
 * data directory (a temp dir), own free port on 127.0.0.1, trust authentication, database
 * `postgres`. It never touches the machine's server on 5432.
 *
 * When the tests run as root the cluster runs as the `postgres` user (PostgreSQL refuses to
 * run as root); otherwise as the current user.
 */
export class ThrowawayPostgres {
  readonly #bindir: string;
  readonly #dataDir: string;
  readonly #port: number;
  readonly #owner: { uid: number; gid: number } | undefined;
  #paused = false;

  private constructor(bindir: string, dataDir: string, port: number, owner: { uid: number; gid: number } | undefined) {
    this.#bindir = bindir;
    this.#dataDir = dataDir;
    this.#port = port;
    this.#owner = owner;
  }

  /** initdb into a fresh temp dir, then start on a free port. */
  static async start(): Promise<ThrowawayPostgres> {
    const { stdout } = await run('pg_config', ['--bindir']);
    const bindir = stdout.trim();
    const owner = await postgresOwner();
    const root = await mkdtemp(join(tmpdir(), 'apix-throwaway-pg-'));
    if (owner) await chown(root, owner.uid, owner.gid);
    await chmod(root, 0o700);
    const dataDir = join(root, 'data');
    const port = await freePort();
    const server = new ThrowawayPostgres(bindir, dataDir, port, owner);
    await server.#exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await server.start();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.#port}/postgres`;
  }

  /** Starts the cluster (again) on the same data directory and port; waits until it accepts connections. */
  async start(): Promise<void> {
    // Settings on the command line: only loopback TCP, the socket in the data dir (not /var/run),
    // fsync off (a test cluster need not survive a power cut) and fast shutdown-friendly checkpoints.
    const options = [`-p ${this.#port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${this.#dataDir}`, '-c fsync=off', '-c max_connections=50'].join(' ');
    await this.#exec('pg_ctl', ['-D', this.#dataDir, '-o', options, '-l', join(this.#dataDir, '..', 'server.log'), '-w', '-t', String(PG_CTL_TIMEOUT_SECONDS), 'start']);
  }

  /** Fast shutdown (clients are disconnected at once, no waiting for them to leave). */
  async stop(): Promise<void> {
    if (this.#paused) await this.resume();
    await this.#exec('pg_ctl', ['-D', this.#dataDir, '-m', 'fast', '-w', '-t', String(PG_CTL_TIMEOUT_SECONDS), 'stop']);
  }

  /** Freezes the postmaster and every backend (SIGSTOP): connections stay open but nothing answers. */
  async pause(): Promise<void> {
    for (const pid of await this.#processes()) process.kill(pid, 'SIGSTOP');
    this.#paused = true;
  }

  /** Thaws what `pause` froze (SIGCONT), backends first so the postmaster finds them alive. */
  async resume(): Promise<void> {
    for (const pid of (await this.#processes()).reverse()) process.kill(pid, 'SIGCONT');
    this.#paused = false;
  }

  /** Stops the cluster if it runs (immediate mode) and deletes its files. */
  async destroy(): Promise<void> {
    if (this.#paused) await this.resume().catch(() => undefined);
    await this.#exec('pg_ctl', ['-D', this.#dataDir, '-m', 'immediate', '-w', '-t', String(PG_CTL_TIMEOUT_SECONDS), 'stop']).catch(() => undefined);
    await rm(join(this.#dataDir, '..'), { recursive: true, force: true });
  }

  /** The postmaster first, then its children (backends and auxiliary processes). */
  async #processes(): Promise<number[]> {
    const pidFile = await readFile(join(this.#dataDir, 'postmaster.pid'), 'utf8');
    const postmaster = Number(pidFile.split('\n')[0]);
    if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error(`unreadable postmaster.pid in ${this.#dataDir}`);
    return [postmaster, ...(await childPids(postmaster))];
  }

  async #exec(tool: string, args: string[]): Promise<void> {
    const child = spawn(join(this.#bindir, tool), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.#owner ? { uid: this.#owner.uid, gid: this.#owner.gid } : {}),
      // PostgreSQL tools read these; an inherited PGDATA/PGPORT must not point them elsewhere.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
      cwd: tmpdir(),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`${tool} ${args.join(' ')} exited with ${code}: ${output.trim().slice(-2000)}`);
  }
}

/** Root cannot run PostgreSQL: use the `postgres` account then. */
async function postgresOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A port nobody listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

