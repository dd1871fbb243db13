import { spawn, type ChildProcess } from 'node:child_process';
import { sleep } from './clock.js';
import { freePort } from './free-port.js';
import type { Target } from './targets.js';

/** A server under test, running as its own process. */
export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  /** The inspector port when started with `inspect` (see inspector-gc.ts). */
  readonly inspectPort: number | undefined;
  /** SIGTERM, then SIGKILL if still running after 12 s; resolves with how long it took (ms). */
  stop(): Promise<number>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Spawns the target's server on a free port and waits until `GET /health/ready` answers 200.
 * `inspect` opens the V8 inspector on another loopback port (idle unless a session attaches).
 */
export async function startServer(target: Target, dataDir: string, options: { inspect?: boolean } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const inspectPort = options.inspect ? await freePort() : undefined;
  const nodeArgs = [
    ...(inspectPort !== undefined ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
    // For investigating a result, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  ];
  const child = spawn(process.execPath, [...nodeArgs, target.script], {
    env: { ...process.env, ...target.env(port, dataDir) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target.label} server exited with ${child.exitCode}:\n${output}`);
    if (await isReady(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${target.label} server not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await sleep(100);
  }
  return {
    pid: child.pid!,
    url: target.url(port),
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
