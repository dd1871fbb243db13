import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RunResults } from './run-results.js';

/** Writes `<dir>/bench-<timestamp>.json` and `<dir>/latest.json`; returns the first path. */
export async function writeResults(dir: string, results: RunResults): Promise<string> {
  const absolute = resolve(dir);
  await mkdir(absolute, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const file = join(absolute, `bench-${stamp}.json`);
  const json = JSON.stringify(results, null, 2) + '\n';
  await writeFile(file, json);
  await writeFile(join(absolute, 'latest.json'), json);
  return file;
}
