import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../clock.js';
import { processTree, readRssBytes } from '../process-stats.js';
import { MB, section, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import { requireDatabaseUrl, type Target } from '../targets.js';
import type { RunContext } from './run-context.js';
import { stopServer } from './run-context.js';
import type { Scenario } from './scenario.js';

export interface IdleRssResult {
  /** Spawn → `/health/ready` 200. */
  startupMs: number;
  /** The server process's VmRSS when it became ready. */
  rssAtReadyBytes: number;
  /** `idleSeconds` after ready: the server process, its descendants (a database child, if any), both. */
  mainRssBytes: number;
  childProcesses: number;
  childRssBytes: number;
  treeRssBytes: number;
}

/**
 * Idle RSS of APIX started as `npm start` starts it (`node packages/server/dist/main.js`,
 * a fresh APIX_DATA_DIR, every setting at its default; with DATABASE_URL for the PostgreSQL
 * variant), read `idleSeconds` after it is ready, summed over the process tree so a database
 * child process counts too. No client connects.
 */
export async function runIdleRss(target: Target, ctx: RunContext): Promise<IdleRssResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-bench-idle-'));
  const databaseUrl = target.id === 'apix-pg' ? requireDatabaseUrl(ctx.environment) : undefined;
  try {
    const server = await startServer(target, ctx.environment, {
      env: (port) => ({ PORT: String(port), HOST: '127.0.0.1', APIX_DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }),
    });
    try {
      const rssAtReadyBytes = readRssBytes(server.pid);
      await sleep(ctx.settings.idleSeconds * 1000);
      const tree = processTree(server.pid);
      const rss = (pid: number) => {
        try {
          return readRssBytes(pid);
        } catch {
          return 0; // exited meanwhile
        }
      };
      const mainRssBytes = rss(server.pid);
      const childRssBytes = tree.slice(1).reduce((sum, pid) => sum + rss(pid), 0);
      return {
        startupMs: server.startupMs,
        rssAtReadyBytes,
        mainRssBytes,
        childProcesses: tree.length - 1,
        childRssBytes,
        treeRssBytes: mainRssBytes + childRssBytes,
      };
    } finally {
      await stopServer(server, target, ctx);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const metrics: Metric<IdleRssResult>[] = [
  { label: 'start-up to ready (s)', better: 'lower', decimals: 1, value: (r) => r.startupMs / 1000 },
  { label: 'server RSS at ready (MB)', better: 'lower', decimals: 1, value: (r) => r.rssAtReadyBytes / MB },
  { label: 'server RSS idle (MB)', better: 'lower', decimals: 1, value: (r) => r.mainRssBytes / MB },
  { label: 'child processes', better: '', decimals: 0, value: (r) => r.childProcesses },
  { label: "children's RSS (MB)", better: 'lower', decimals: 1, value: (r) => r.childRssBytes / MB },
  { label: 'process tree RSS idle (MB)', better: 'lower', decimals: 1, value: (r) => r.treeRssBytes / MB },
];

export const idleRssScenario: Scenario<IdleRssResult> = {
  id: 'idle-rss',
  summary: 'APIX started as npm start does (fresh data directory, defaults), RSS of its process tree --idle-seconds after ready',
  defaultTargets: ['apix', 'apix-pg'],
  supportedTargets: ['apix', 'apix-pg'],
  run: runIdleRss,
  render: ({ number, settings, targets, outcomes }) =>
    [
      `${number}. Idle RSS: node packages/server/dist/main.js with a fresh APIX_DATA_DIR and default settings (APIX (PG): plus DATABASE_URL), ` +
        `no clients, read ${settings.idleSeconds} s after ready (goal for the embedded default: < 250 MB)`,
      section(targets, outcomes, metrics),
    ].join('\n'),
};
