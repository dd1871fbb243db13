import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the `apix-redis` target keeps its keys: one prefix per run, so a run never reads another's streams. */
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BENCH_REDIS_PREFIX = `apixbench-${process.pid}`;

/** Deletes this run's keys (the Redis may be shared); best effort, with `redis-cli`. */
export async function deleteBenchRedisKeys(): Promise<void> {
  const { stdout } = await run('redis-cli', ['-u', BENCH_REDIS_URL, '--scan', '--pattern', `${BENCH_REDIS_PREFIX}:*`], { maxBuffer: 64 * 1024 * 1024 });
  const keys = stdout.split('\n').filter(Boolean);
  for (let i = 0; i < keys.length; i += 500) await run('redis-cli', ['-u', BENCH_REDIS_URL, 'DEL', ...keys.slice(i, i + 500)]);
}
