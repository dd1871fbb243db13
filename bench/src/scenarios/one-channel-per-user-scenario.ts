import { BENCH_ORGANIZATION, benchUserPrefix } from '../bench-tokens.js';
import { sleep, wallNow } from '../clock.js';
import { Histogram, type HistogramSummary } from '../histogram.js';
import { collectGarbage, type HeapSnapshotFigures } from '../inspector-gc.js';
import type { ConnectSubscribeResult } from '../ipc-protocol.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, readRssBytes, type CpuShares } from '../process-stats.js';
import { MB, sectionsByPart, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import { TARGETS, type Target } from '../targets.js';
import { formatNumber } from '../text-table.js';
import { toMs } from './connections-scenario.js';
import { stopServer, type RunContext } from './run-context.js';
import { ALL_TARGETS, type Scenario } from './scenario.js';

/** Channel of user n: `user:bench-u<n>`, the private channel only that user may subscribe to. */
const USER_CHANNEL_PREFIX = `user:${benchUserPrefix(BENCH_ORGANIZATION)}`;
/**
 * Source addresses 127.0.0.2 … 127.0.0.254, a fresh one for every load-generator process of
 * the run. With a source address the kernel binds before connecting, and a bound port stays
 * taken while its socket sits in TIME_WAIT (60 s, on this side: the clients close first), so
 * reusing one address for 10,000 + 19,000 connections a minute would run out of its ~28k ports.
 */
let nextSourceAddress = 2;
function sourceAddress(): string {
  const address = `127.0.0.${nextSourceAddress}`;
  nextSourceAddress = nextSourceAddress >= 254 ? 2 : nextSourceAddress + 1;
  return address;
}

/** A full GC on a server that is still busy may take a while; past this the figure is left out. */
const GC_TIMEOUT_MS = 30_000;

export interface PerUserSizeReport extends CpuShares {
  /** N: connections asked for, each with its own user's token and channel. */
  connections: number;
  loadProcesses: number;
  opened: number;
  subscribed: number;
  errors: Record<string, number>;
  /** The bound: all N must be subscribed within it, or the server collapsed. */
  deadlineMs: number;
  allSubscribed: boolean;
  /** From the first attempt until that share of the N was subscribed (null: never reached). */
  timeTo50PercentMs: number | null;
  timeTo99PercentMs: number | null;
  timeToAllMs: number | null;
  /** Subscribed connections ÷ (time to all subscribed, or the bound when not all were). */
  rate: number;
  /** new WebSocket → subscribe reply, per connection. */
  latencyMs: HistogramSummary;
  /** Server VmRSS before connecting (after a full GC), with N open, and after a full GC. */
  serverRssBeforeBytes: number;
  serverRssAfterBytes: number;
  serverRssAfterGcBytes: number | null;
  /** (RSS after GC − before) ÷ open connections: what a connection with its subscription keeps. */
  serverRssPerConnectionAfterGcBytes: number | null;
  serverHeapPerConnectionBytes: number | null;
}

export interface PerUserResult {
  sizes: PerUserSizeReport[];
}

/**
 * One channel per user: N connections, each with its own user's token, subscribing to that
 * user's channel as soon as it is open (`user:<id>`; the baselines join a room of that
 * name). The connections are spread over several load-generator processes, each from its
 * own source address, because a process may hold at most 20,000 files. A fresh server for
 * every N, with the V8 inspector open for the forced GC (inspector-gc.ts).
 */
export async function runOneChannelPerUser(target: Target, ctx: RunContext): Promise<PerUserResult> {
  const { settings } = ctx;
  const tokens = target.authenticated ? await ctx.tokenBook.tokens(Math.max(...settings.perUserCounts)) : [];
  const sizes: PerUserSizeReport[] = [];
  for (const connections of settings.perUserCounts) {
    ctx.log(`  ${target.label}: ${formatNumber(connections)} connections, one channel each…`);
    sizes.push(await runSize(target, ctx, connections, tokens));
  }
  return { sizes };
}

async function runSize(target: Target, ctx: RunContext, connections: number, tokens: string[]): Promise<PerUserSizeReport> {
  const { settings } = ctx;
  const deadlineMs = settings.perUserTimeoutSeconds * 1000;
  const server = await startServer(target, ctx.environment, { inspect: true });
  const processes = Math.min(settings.perUserLoadProcesses, connections);
  const loads = Array.from({ length: processes }, () => LoadGeneratorProcess.start());
  try {
    await sleep(500);
    const heapBefore = await collectGarbage(server.inspectPort!);
    const serverRssBeforeBytes = readRssBytes(server.pid);
    const cpu = new CpuSharesMeter(
      server.pid,
      loads.map((l) => l.pid),
    ).start();
    const originWallMs = wallNow();
    const perProcess = Math.ceil(connections / processes);
    const results: ConnectSubscribeResult[] = await Promise.all(
      loads.map((load, i) => {
        const offset = i * perProcess;
        const count = Math.min(perProcess, connections - offset);
        return load.connectAndSubscribe({
          kind: target.clientKind,
          url: server.url,
          tokens: tokens.slice(offset, offset + count),
          count,
          concurrency: Math.max(1, Math.round(settings.perUserConcurrency / processes)),
          deadlineMs,
          plan: { kind: 'own', prefix: USER_CHANNEL_PREFIX, perConnection: 1, indexOffset: offset },
          localAddress: sourceAddress(),
          originWallMs,
        });
      }),
    );
    const cpuShares = cpu.stop();

    const latency = new Histogram();
    const completedAt = new Histogram();
    const errors: Record<string, number> = {};
    let opened = 0;
    let subscribed = 0;
    for (const r of results) {
      latency.merge(r.latency);
      completedAt.merge(r.completedAt);
      opened += r.opened;
      subscribed += r.subscribed;
      for (const [message, count] of Object.entries(r.errors)) errors[message] = (errors[message] ?? 0) + count;
    }
    const allSubscribed = subscribed === connections;
    const timeTo = (share: number) => (subscribed >= Math.ceil(share * connections) ? completedAt.percentile((share * connections) / subscribed) / 1000 : null);
    const timeToAllMs = allSubscribed ? completedAt.summary().max / 1000 : null;

    await sleep(settings.settleMs);
    const serverRssAfterBytes = readRssBytes(server.pid);
    const heapAfter = await collectGarbageWithin(server.inspectPort!, GC_TIMEOUT_MS, ctx);
    const serverRssAfterGcBytes = heapAfter ? readRssBytes(server.pid) : null;
    const perConnection = (bytes: number) => (opened > 0 ? bytes / opened : null);
    return {
      connections,
      loadProcesses: processes,
      opened,
      subscribed,
      errors,
      deadlineMs,
      allSubscribed,
      timeTo50PercentMs: timeTo(0.5),
      timeTo99PercentMs: timeTo(0.99),
      timeToAllMs,
      rate: (subscribed / (timeToAllMs ?? deadlineMs)) * 1000,
      latencyMs: toMs(latency.summary()),
      serverRssBeforeBytes,
      serverRssAfterBytes,
      serverRssAfterGcBytes,
      serverRssPerConnectionAfterGcBytes: serverRssAfterGcBytes !== null ? perConnection(serverRssAfterGcBytes - serverRssBeforeBytes) : null,
      serverHeapPerConnectionBytes: heapAfter ? perConnection(heapAfter.heapUsedBytes - heapBefore.heapUsedBytes) : null,
      ...cpuShares,
    };
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await stopServer(server, target, ctx);
  }
}

async function collectGarbageWithin(inspectPort: number, timeoutMs: number, ctx: RunContext): Promise<HeapSnapshotFigures | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      collectGarbage(inspectPort),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } catch (error) {
    ctx.log(`  forced GC failed (${error instanceof Error ? error.message : String(error)}): per-connection memory left out`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

const seconds = (ms: number | null) => (ms === null ? undefined : ms / 1000);
const kb = (bytes: number | null) => (bytes === null ? undefined : bytes / 1024);

const metrics: Metric<PerUserSizeReport>[] = [
  { label: 'subscribed / connections', better: '', decimals: 0, noRatio: true, value: (r) => r.subscribed, text: (r) => `${formatNumber(r.subscribed)}/${formatNumber(r.connections)}` },
  { label: 'all subscribed within the bound', better: '', decimals: 0, noRatio: true, value: (r) => (r.allSubscribed ? 1 : 0), text: (r) => (r.allSubscribed ? 'yes' : 'NO: collapsed') },
  { label: 'time to 50 % subscribed (s)', better: 'lower', decimals: 1, value: (r) => seconds(r.timeTo50PercentMs) },
  { label: 'time to 99 % subscribed (s)', better: 'lower', decimals: 1, value: (r) => seconds(r.timeTo99PercentMs) },
  { label: 'time to all subscribed (s)', better: 'lower', decimals: 1, value: (r) => seconds(r.timeToAllMs) },
  { label: 'connect+subscribe rate (/s)', better: 'higher', decimals: 0, value: (r) => r.rate },
  { label: 'connect+subscribe p50 (ms)', better: 'lower', decimals: 1, value: (r) => (r.latencyMs.count > 0 ? r.latencyMs.p50 : undefined) },
  { label: 'connect+subscribe p99 (ms)', better: 'lower', decimals: 1, value: (r) => (r.latencyMs.count > 0 ? r.latencyMs.p99 : undefined) },
  { label: 'server RSS idle (MB)', better: '', decimals: 1, value: (r) => r.serverRssBeforeBytes / MB },
  { label: 'server RSS with N subscribed (MB)', better: '', decimals: 1, value: (r) => r.serverRssAfterBytes / MB },
  { label: 'server KB per connection after GC', better: 'lower', decimals: 1, value: (r) => kb(r.serverRssPerConnectionAfterGcBytes) },
  { label: '  … of which JS heap (KB)', better: 'lower', decimals: 1, value: (r) => kb(r.serverHeapPerConnectionBytes) },
  { label: 'server CPU while connecting (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU, all processes (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

export const oneChannelPerUserScenario: Scenario<PerUserResult> = {
  id: 'one-channel-per-user',
  summary: 'N connections, each subscribing to its own user:<id> channel with its own token (--per-user-counts): rate, collapse, KB per connection',
  defaultTargets: ALL_TARGETS,
  run: runOneChannelPerUser,
  render: ({ number, settings, targets, outcomes }) => {
    const out = sectionsByPart(
      targets,
      outcomes,
      (r) => r.sizes,
      (s) => String(s.connections),
      (s) =>
        `${number}. One channel per user: ${formatNumber(s.connections)} connections, each opening and subscribing to its own user:<id> ` +
        `(own token; baselines: own room), ${settings.perUserConcurrency} in flight over ${s.loadProcesses} load-generator processes (own source addresses), bound ${settings.perUserTimeoutSeconds} s`,
      metrics,
      `${number}. One channel per user: N = ${settings.perUserCounts.join(', ')}`,
    );
    for (const t of targets) {
      const outcome = outcomes[t];
      if (!outcome?.ok) continue;
      for (const s of outcome.result.sizes) {
        if (!s.allSubscribed) out.push(`  ${TARGETS[t].label} at N=${formatNumber(s.connections)}: ${formatNumber(s.connections - s.subscribed)} not subscribed: ${JSON.stringify(s.errors)}`);
      }
    }
    return out.join('\n');
  },
};
