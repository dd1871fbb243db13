import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullJitterBackoffMs, type BackoffPolicy } from '../support/backoff.js';

/**
 * The child's entry point: `bin/pglite-server.js`, two levels above this module both in
 * `src/storage/` (vitest) and in `dist/storage/` (built), like the migrations folder.
 */
const CHILD_SCRIPT = fileURLToPath(new URL('../../bin/pglite-server.js', import.meta.url));

/** PostgreSQL's socket file name for port 5432: node-postgres connects to `<host dir>/.s.PGSQL.<port>`. */
export const PGLITE_SOCKET_PORT = 5432;

/** First start of a new data folder runs initdb (~4 s here); generous for a loaded machine. */
const START_TIMEOUT_MS = 120_000;
/** A child that crashed is started again after the shared full-jitter backoff (timers are monotonic). */
const RESTART_BACKOFF: BackoffPolicy = { baseMs: 1_000, factor: 2, capMs: 30_000 };

/**
 * V8 flags of the embedded database's process. PGlite is one big WebAssembly module: V8
 * compiles it with Liftoff, then again with TurboFan for hot functions, and keeps both. Liftoff
 * alone keeps idle RSS at ~125 MB instead of ~190 MB, and the queries APIX sends (small batched
 * writes, indexed reads, the round trip over the socket dominating) measured no slower here.
 * A 1 MB young generation: the process allocates little JavaScript.
 */
export const PGLITE_NODE_FLAGS: string[] = ['--liftoff-only', '--max-semi-space-size=1'];

/**
 * Memory settings of the embedded PostgreSQL. PostgreSQL's defaults (shared_buffers 128 MB…)
 * size a dedicated server; the embedded default is a development and small-deployment
 * database, and this keeps the child around 190 MB instead of 320 MB at idle (measured; see
 * ADR 0010). Operators who need more run PostgreSQL (DATABASE_URL).
 */
export const PGLITE_SETTINGS: readonly string[] = ['shared_buffers=16MB', 'work_mem=2MB', 'maintenance_work_mem=16MB', 'temp_buffers=2MB', 'wal_buffers=512kB'];

export interface PgliteProcessOptions {
  /** PGlite's data folder (`<APIX_DATA_DIR>/pglite`); its parent must exist. */
  readonly dataDir: string;
  /** Client connections the child accepts (the pool's size plus one for migrations). */
  readonly maxConnections: number;
  /** Told when the child exits unexpectedly and when it is back. */
  readonly onEvent?: (event: { kind: 'exited'; code: number | null; signal: string | null; restartInMs: number } | { kind: 'restarted' } | { kind: 'restart-failed'; error: Error }) => void;
}

/**
 * Runs PGlite in a child process that serves the PostgreSQL wire protocol on a private unix
 * socket (see ADR 0010): no query runs on the server's event-loop thread, the server uses one
 * driver (node-postgres) with the same timeouts for both databases, and PGlite's memory is
 * not the server's.
 *
 * The child dies with this process (it exits when its IPC channel closes, which the kernel
 * does even on SIGKILL). A child that crashes is started again with capped backoff; until it
 * is back, queries fail fast as storage-unavailable errors.
 */
export class PgliteProcess {
  readonly #options: PgliteProcessOptions;
  readonly #socketDir: string;
  #child: ChildProcess | undefined;
  #closing = false;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Restarts since the child last came up. */
  #restartAttempt = 0;

  private constructor(options: PgliteProcessOptions, socketDir: string) {
    this.#options = options;
    this.#socketDir = socketDir;
  }

  /** Starts the child and resolves once it accepts connections (rejects with the child's reason). */
  static async start(options: PgliteProcessOptions): Promise<PgliteProcess> {
    // mkdtemp creates the folder 0700: only this user can reach the socket (PGlite trusts every client).
    const socketDir = await mkdtemp(join(tmpdir(), 'apix-pglite-'));
    const process = new PgliteProcess(options, socketDir);
    try {
      await process.#spawn();
    } catch (error) {
      await rm(socketDir, { recursive: true, force: true });
      throw error;
    }
    return process;
  }

  /** The folder holding the socket: node-postgres' `host` (with port {@link PGLITE_SOCKET_PORT}). */
  get socketDir(): string {
    return this.#socketDir;
  }

  /** The child's pid, while one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Asks the child to close PGlite cleanly and waits for it to exit; safe to call more than once. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ type: 'close' }, () => undefined);
      else child.kill('SIGTERM');
      await exited;
    }
    await rm(this.#socketDir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const socketPath = join(this.#socketDir, `.s.PGSQL.${PGLITE_SOCKET_PORT}`);
    // A child that crashed leaves its socket file behind; listening on it would fail.
    await rm(socketPath, { force: true });
    const child = fork(CHILD_SCRIPT, [this.#options.dataDir, socketPath, String(this.#options.maxConnections), ...PGLITE_SETTINGS], {
      // stdout/stderr shared with the server (PGlite's own warnings); stdin unused.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Not the server's flags (e.g. --inspect, vitest's loaders): the child is plain JavaScript.
      execArgv: PGLITE_NODE_FLAGS,
      serialization: 'json',
    });
    this.#child = child;
    const outcome = await new Promise<'ready' | 'initialized'>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the embedded database did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      const onMessage = (message: unknown) => {
        const m = message as { type?: string; message?: string };
        if (m.type === 'ready') {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.on('exit', (code, signal) => this.#onExit(child, code, signal));
          resolve('ready');
        } else if (m.type === 'initialized') {
          // A first start: the child created the data folder and exits (see the script); serve from a fresh one.
          clearTimeout(timer);
          child.removeAllListeners('exit');
          if (child.exitCode !== null || child.signalCode !== null) resolve('initialized');
          else child.once('exit', () => resolve('initialized'));
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`the embedded database failed to start: ${m.message ?? 'unknown reason'}`));
        }
      };
      child.on('message', onMessage);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the embedded database exited during start-up (code ${code}, signal ${signal})`));
      });
    });
    if (outcome === 'initialized') await this.#spawn();
  }

  #onExit(child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.#closing || child !== this.#child) return;
    const restartInMs = Math.round(fullJitterBackoffMs(this.#restartAttempt++, RESTART_BACKOFF));
    this.#options.onEvent?.({ kind: 'exited', code, signal, restartInMs });
    this.#restartTimer = setTimeout(() => {
      if (this.#closing) return;
      this.#spawn().then(
        () => {
          this.#restartAttempt = 0;
          this.#options.onEvent?.({ kind: 'restarted' });
        },
        (error: unknown) => {
          this.#options.onEvent?.({ kind: 'restart-failed', error: error instanceof Error ? error : new Error(String(error)) });
          this.#onExit(this.#child!, null, null);
        },
      );
    }, restartInMs);
    this.#restartTimer.unref();
  }
}
