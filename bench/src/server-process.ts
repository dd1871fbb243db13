import { spawn, type ChildProcess } from 'node:child_process';
import { sleep } from './clock.js';
import { freePort } from './free-port.js';
import type { Target, TargetEnvironment } from './targets.js';

/** A server under test, running as its own process. */
export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  /** From spawn until `GET /health/ready` answered 200, ms. */
  readonly startupMs: number;
  /** The inspector port when started with `inspect` (see inspector-gc.ts). */
  readonly inspectPort: number | undefined;
  /** SIGTERM, then SIGKILL if still running after 12 s; resolves with how long it took (ms). */
  stop(): Promise<number>;
}

/** Generous: PGlite's first open (initdb) takes ~4 s on an idle machine and much longer on a busy one. */
const READY_TIMEOUT_MS = 120_000;

/** Not inherited from the bench's own environment: a target that wants a database or Redis sets them itself. */
const INHERITED_ENV_DROPPED = ['DATABASE_URL', 'REDIS_URL'];

export interface StartOptions {
  /** Open the V8 inspector on another loopback port (idle unless a session attaches). */
  inspect?: boolean;
  /** Environment instead of the target's own (e.g. APIX with its defaults, as `npm start` runs it). */
  env?: (port: number) => Record<string, string>;
}

/** Spawns the target's server on a free port and waits until `GET /health/ready` answers 200. */
export async function startServer(target: Target, environment: TargetEnvironment, options: StartOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  // The target decides which database and broker it uses, never the shell the bench runs in.
  const inherited = { ...process.env };
  for (const name of INHERITED_ENV_DROPPED) delete inherited[name];
  const env = { ...inherited, ...(options.env ? options.env(port) : target.env(port, environment)) };
  const inspectPort = options.inspect ? await freePort() : undefined;
  const nodeArgs = [
    ...(inspectPort !== undefined ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
    // For investigating a result, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  ];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, target.script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target.label} server exited with ${child.exitCode}:\n${output}`);
    if (await isReady(port)) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${target.label} server not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await sleep(100);
  }
  const startupMs = performance.now() - t0;
  return {
    pid: child.pid!,
    url: target.url(port),
    startupMs,
    inspectPort,
    stop: async () => {
      const t0 = performance.now();
      await stopChild(child, exited);
      return performance.now() - t0;
    },
  };
}

async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Longer than APIX's default SHUTDOWN_TIMEOUT_MS (10 s), so a graceful stop is never cut short. */
const STOP_TIMEOUT_MS = 12_000;

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
