import { Histogram, type HistogramSummary } from '../histogram.js';
import type { ChurnResult, PingPhaseResult, StormResult } from '../ipc-protocol.js';
import { LoadGeneratorProcess } from '../load-generator-process.js';
import { CpuSharesMeter, type CpuShares } from '../process-stats.js';
import { sectionsByPart, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import type { SubscriptionPlan } from '../subscription-plan.js';
import { TARGETS, type Target } from '../targets.js';
import { formatNumber } from '../text-table.js';
import { toMs } from './connections-scenario.js';
import { connectClients, stopServer, type RunContext } from './run-context.js';
import { ALL_TARGETS, type Scenario } from './scenario.js';

/** The bystander's organisation: not `bench`, whose connections hold the subscriptions. */
export const BYSTANDER_ORGANIZATION = 'bench-bystander';
/** A pong later than this counts as lost. */
const PING_TIMEOUT_MS = 5_000;

export interface BystanderPhaseReport extends CpuShares {
  phase: BystanderPhase;
  /** The tenant's subscriptions at the start of the phase. */
  subscriptionsWanted: number;
  subscriptionsHeld: number;
  pingsSent: number;
  pingsAnswered: number;
  pingsLost: number;
  pingErrors: Record<string, number>;
  /** Bystander's heartbeat.ping → heartbeat.pong. */
  pingMs: HistogramSummary;
  /** The other tenant's unsubscribe + subscribe cycles (churn phase only). */
  churn: (Omit<ChurnResult, 'latency'> & { cyclesPerSecond: number; cycleMs: HistogramSummary }) | null;
  /** The tenant's subscribe → history → presence → unsubscribe storm (storm phase only). */
  storm: (Omit<StormResult, 'latency'> & { requests: number; refused: number; batchesPerSecond: number; batchMs: HistogramSummary }) | null;
}

type BystanderPhase = 'hold' | 'churn' | 'storm';

/** The storm's made-up channels: connection i cycles through `agent:bench-storm-<i>-<n>`, none of them held by anyone. */
/** Rooms: presence is on there by default, so the storm's subscribes join and leave presence too, and its presence reads have members to list. */
const STORM_PREFIX = 'room:bench-storm-';

export interface BystanderResult {
  /** Subscriptions the other tenant asked for, and held (a connection whose subscribe failed holds none). */
  subscriptionsWanted: number;
  subscriptionsHeld: number;
  subscribeErrors: Record<string, number>;
  subscribeMs: number;
  phases: BystanderPhaseReport[];
}

/**
 * Bystander: tenant `bench` holds `bystanderConnections` × `bystanderChannelsPerConnection`
 * subscriptions (distinct channels) while one connection of another organisation measures
 * `heartbeat.ping` round trips, first with the subscriptions just held, then while the first
 * tenant churns (unsubscribes and resubscribes a channel, `churnRate` times per second), then
 * while `stormConnections` of the tenant's connections storm the server with back-to-back
 * subscribe → history → presence → unsubscribe of made-up rooms (what bench/src/bystander-isolation.ts
 * measured before this scenario took it over: every answer tallied, typed refusals vs timeouts).
 * The bystander has a load-generator process of its own, so its round trips wait only on the server.
 */
export async function runBystander(target: Target, ctx: RunContext): Promise<BystanderResult> {
  const { settings } = ctx;
  const server = await startServer(target, ctx.environment);
  const tenant = LoadGeneratorProcess.start();
  const bystander = LoadGeneratorProcess.start();
  try {
    const plan: Extract<SubscriptionPlan, { kind: 'own' }> = {
      kind: 'own',
      prefix: 'agent:bench-hold-',
      perConnection: settings.bystanderChannelsPerConnection,
      indexOffset: 0,
    };
    // The bystander is connected first: it is an existing user of another tenant, whose round trips are what this measures.
    await connectClients(bystander, target, server.url, ctx, 1, 1, await ctx.tokenBook.tokens(1, BYSTANDER_ORGANIZATION));
    await connectClients(tenant, target, server.url, ctx, settings.bystanderConnections, 50);
    const subscribed = await tenant.subscribe(plan, 0, 20);
    // A server that drops some of the tenant's connections while they subscribe is a finding, not a reason to measure nothing.
    if (subscribed.subscribed === 0) throw new Error(`none of the tenant's connections could subscribe: ${JSON.stringify(subscribed.errors)}`);
    const held = { subscriptionsWanted: settings.bystanderConnections * settings.bystanderChannelsPerConnection, subscriptionsHeld: subscribed.subscribed * settings.bystanderChannelsPerConnection };
    if (subscribed.failed > 0) ctx.log(`  ${target.label}: ${subscribed.failed} of the tenant's connections could not subscribe: ${JSON.stringify(subscribed.errors)}`);

    const durationMs = settings.bystanderSeconds * 1000;
    const ping = () => bystander.pingPhase(settings.pingIntervalMs, durationMs, PING_TIMEOUT_MS);
    const phases: BystanderPhaseReport[] = [];

    ctx.log(`  ${target.label} bystander: hold…`);
    let cpu = new CpuSharesMeter(server.pid, [tenant.pid, bystander.pid]).start();
    const holdPings = await ping();
    phases.push(phaseReport('hold', held, holdPings, null, cpu.stop()));

    ctx.log(`  ${target.label} bystander: churn…`);
    cpu = new CpuSharesMeter(server.pid, [tenant.pid, bystander.pid]).start();
    const [churned, churnPings] = await Promise.all([
      tenant.churn({ plan, skip: 0, rate: settings.churnRate, durationMs, maxInFlight: settings.bystanderConnections * 2 }),
      ping(),
    ]);
    phases.push(phaseReport('churn', held, churnPings, churned, cpu.stop()));

    if (settings.stormConnections > 0) {
      ctx.log(`  ${target.label} bystander: storm…`);
      cpu = new CpuSharesMeter(server.pid, [tenant.pid, bystander.pid]).start();
      const [stormed, stormPings] = await Promise.all([
        tenant.storm({ connections: Math.min(settings.stormConnections, settings.bystanderConnections), prefix: STORM_PREFIX, durationMs }),
        ping(),
      ]);
      phases.push(phaseReport('storm', held, stormPings, null, cpu.stop(), stormed));
    }
    return { ...held, subscribeErrors: subscribed.errors, subscribeMs: subscribed.elapsedMs, phases };
  } finally {
    await Promise.all([tenant.stop(), bystander.stop()]);
    await stopServer(server, target, ctx);
  }
}

function phaseReport(
  phase: BystanderPhase,
  held: { subscriptionsWanted: number; subscriptionsHeld: number },
  pings: PingPhaseResult,
  churn: ChurnResult | null,
  cpu: CpuShares,
  storm: StormResult | null = null,
): BystanderPhaseReport {
  const requests = storm ? Object.values(storm.answers).reduce((sum, n) => sum + n, 0) : 0;
  return {
    phase,
    ...held,
    pingsSent: pings.sent,
    pingsAnswered: pings.answered,
    pingsLost: pings.lost,
    pingErrors: pings.errors,
    pingMs: toMs(Histogram.from(pings.latency).summary()),
    churn: churn && {
      due: churn.due,
      completed: churn.completed,
      failed: churn.failed,
      skipped: churn.skipped,
      unfinished: churn.unfinished,
      errors: churn.errors,
      elapsedMs: churn.elapsedMs,
      cyclesPerSecond: (churn.completed / churn.elapsedMs) * 1000,
      cycleMs: toMs(Histogram.from(churn.latency).summary()),
    },
    storm: storm && {
      connections: storm.connections,
      batches: storm.batches,
      timedOut: storm.timedOut,
      answers: storm.answers,
      elapsedMs: storm.elapsedMs,
      requests,
      refused: requests - (storm.answers.ok ?? 0),
      batchesPerSecond: (storm.batches / storm.elapsedMs) * 1000,
      batchMs: toMs(Histogram.from(storm.latency).summary()),
    },
    ...cpu,
  };
}

/** A summary with samples in it ('—' rather than 0 when nothing was answered). */
const sampled = (summary: HistogramSummary | undefined) => (summary && summary.count > 0 ? summary : undefined);

const metrics: Metric<BystanderPhaseReport>[] = [
  {
    label: "tenant's subscriptions held",
    better: '',
    decimals: 0,
    noRatio: true,
    value: (r) => r.subscriptionsHeld,
    text: (r) => `${formatNumber(r.subscriptionsHeld)}/${formatNumber(r.subscriptionsWanted)}`,
  },
  { label: 'bystander pings answered / sent', better: '', decimals: 0, noRatio: true, value: (r) => r.pingsAnswered, text: (r) => `${formatNumber(r.pingsAnswered)}/${formatNumber(r.pingsSent)}` },
  { label: 'bystander ping p50 (ms)', better: 'lower', decimals: 2, value: (r) => sampled(r.pingMs)?.p50 },
  { label: 'bystander ping p99 (ms)', better: 'lower', decimals: 2, value: (r) => sampled(r.pingMs)?.p99 },
  { label: 'bystander ping max (ms)', better: 'lower', decimals: 2, value: (r) => sampled(r.pingMs)?.max },
  { label: 'churn cycles done (/s)', better: 'higher', decimals: 0, value: (r) => r.churn?.cyclesPerSecond },
  {
    label: 'churn cycles failed / skipped / unfinished',
    better: '',
    decimals: 0,
    noRatio: true,
    value: (r) => r.churn?.failed,
    text: (r) => (r.churn ? `${formatNumber(r.churn.failed)} / ${formatNumber(r.churn.skipped)} / ${formatNumber(r.churn.unfinished)}` : '—'),
  },
  { label: 'churn cycle p99 (ms)', better: 'lower', decimals: 2, value: (r) => sampled(r.churn?.cycleMs)?.p99 },
  { label: 'storm batches done (/s)', better: 'higher', decimals: 0, value: (r) => r.storm?.batchesPerSecond },
  {
    label: 'storm requests refused / batches timed out',
    better: '',
    decimals: 0,
    noRatio: true,
    value: (r) => r.storm?.refused,
    text: (r) => (r.storm ? `${formatNumber(r.storm.refused)}/${formatNumber(r.storm.requests)} / ${formatNumber(r.storm.timedOut)}` : '—'),
  },
  { label: 'storm batch p99 (ms)', better: 'lower', decimals: 2, value: (r) => sampled(r.storm?.batchMs)?.p99 },
  { label: 'server CPU (%)', better: '', decimals: 0, value: (r) => r.serverCpuPercent },
  { label: 'load-gen CPU (%)', better: '', decimals: 0, value: (r) => r.loadCpuPercent },
  { label: 'other CPU on the machine (%)', better: '', decimals: 0, value: (r) => r.otherCpuPercent, noRatio: true },
];

export const bystanderScenario: Scenario<BystanderResult> = {
  id: 'bystander',
  summary:
    "another organisation's ping round trips while one tenant holds (then churns) --bystander-connections × --bystander-channels-per-connection subscriptions, then storms subscribe→history→presence→unsubscribe of rooms (--storm-connections)",
  defaultTargets: ALL_TARGETS,
  run: runBystander,
  render: ({ number, settings, targets, outcomes }) => {
    const held = formatNumber(settings.bystanderConnections * settings.bystanderChannelsPerConnection);
    const who = `tenant "bench" holds ${held} subscriptions (${settings.bystanderConnections} connections × ${settings.bystanderChannelsPerConnection} channels)`;
    const pings = `a connection of another organisation pings every ${settings.pingIntervalMs} ms for ${settings.bystanderSeconds} s (goal: p99 < 50 ms)`;
    const out = sectionsByPart(
      targets,
      outcomes,
      (r) => r.phases,
      (p) => p.phase,
      (p) =>
        p.phase === 'hold'
          ? `${number}. Bystander: ${who}; ${pings}`
          : p.phase === 'churn'
            ? `${number}. Bystander during churn: the same while tenant "bench" unsubscribes and resubscribes ${formatNumber(settings.churnRate)} channels/s`
            : `${number}. Bystander during a storm: the same while ${p.storm?.connections ?? settings.stormConnections} of tenant "bench"'s connections subscribe to 10 made-up rooms, read one's history and presence and unsubscribe, back to back (baselines keep no history: they answer it empty)`,
      metrics,
      `${number}. Bystander: ${who}; ${pings}`,
    );
    for (const t of targets) {
      const outcome = outcomes[t];
      if (!outcome?.ok) continue;
      if (outcome.result.subscriptionsHeld < outcome.result.subscriptionsWanted) {
        out.push(`  ${TARGETS[t].label}: the tenant's subscribe failed on some connections: ${JSON.stringify(outcome.result.subscribeErrors)}`);
      }
      for (const p of outcome.result.phases) {
        if (p.pingsLost > 0) out.push(`  ${TARGETS[t].label}, ${p.phase}: ${formatNumber(p.pingsLost)} pings lost: ${JSON.stringify(p.pingErrors)}`);
        if (p.churn && Object.keys(p.churn.errors).length > 0) out.push(`  ${TARGETS[t].label}, ${p.phase}: churn: ${JSON.stringify(p.churn.errors)}`);
        if (p.storm && p.storm.refused > 0) out.push(`  ${TARGETS[t].label}, ${p.phase}: storm answers: ${JSON.stringify(p.storm.answers)}`);
      }
    }
    return out.join('\n');
  },
};
