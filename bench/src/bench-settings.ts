import { fileURLToPath } from 'node:url';
import { TARGET_IDS, type TargetId } from './targets.js';

/** Everything a run can be told, from `--flag=value` / `--flag value` arguments or BENCH_* environment variables. */
export interface BenchSettings {
  /** Only these targets; unset: each scenario's own list. */
  targets: TargetId[] | undefined;
  /** Scenario ids, in the order they run (`--only` is the same flag). */
  scenarios: string[];
  /** connections */
  connections: number;
  connectConcurrency: number;
  /** Wait after the last connection before reading the server's RSS. */
  settleMs: number;
  /** fanout */
  subscribers: number;
  /** Open-loop publication rates (events/s), one phase each. */
  fanoutRates: number[];
  phaseSeconds: number;
  /** Closed-loop max-throughput phase: publications in flight and duration (0 s: skip). */
  maxWindow: number;
  maxSeconds: number;
  payloadBytes: number;
  /** publish */
  publishWindow: number;
  publishSeconds: number;
  /** one-channel-per-user: one table per N. */
  perUserCounts: number[];
  perUserConcurrency: number;
  /** The bound on connect + subscribe of all N: past it, the server has collapsed. */
  perUserTimeoutSeconds: number;
  /** Load-generator processes (each from its own source address 127.0.0.x). */
  perUserLoadProcesses: number;
  /** many-channels */
  manyChannels: number;
  manyRate: number;
  manySeconds: number;
  manyPublishers: number;
  /** bystander: the other tenant's connections × channels each, phase length, churn cycles/s, ping interval. */
  bystanderConnections: number;
  bystanderChannelsPerConnection: number;
  bystanderSeconds: number;
  churnRate: number;
  pingIntervalMs: number;
  /** bystander's storm phase: connections of the tenant doing subscribe → history → unsubscribe of made-up channels back to back (0: no storm phase). */
  stormConnections: number;
  /** idle-rss: how long after ready the RSS is read. */
  idleSeconds: number;
  /** Where the JSON results go. */
  resultsDir: string;
}

export const ALL_SCENARIOS = 'all';

const DEFAULTS: BenchSettings = {
  targets: undefined,
  scenarios: [ALL_SCENARIOS],
  connections: 10_000,
  connectConcurrency: 200,
  settleMs: 2_000,
  subscribers: 1_000,
  fanoutRates: [20, 50],
  phaseSeconds: 10,
  maxWindow: 16,
  maxSeconds: 5,
  payloadBytes: 128,
  publishWindow: 64,
  publishSeconds: 5,
  perUserCounts: [10_000, 19_000],
  perUserConcurrency: 200,
  perUserTimeoutSeconds: 60,
  perUserLoadProcesses: 2,
  manyChannels: 1_000,
  manyRate: 10_000,
  manySeconds: 10,
  manyPublishers: 10,
  bystanderConnections: 100,
  bystanderChannelsPerConnection: 100,
  bystanderSeconds: 10,
  churnRate: 1_000,
  pingIntervalMs: 10,
  stormConnections: 4,
  idleSeconds: 30,
  resultsDir: fileURLToPath(new URL('../results', import.meta.url)),
};

type Kind = 'int' | 'ints' | 'list' | 'string';

/** flag name (kebab-case) → env name → setting */
const SPEC: Record<string, { env: string; key: keyof BenchSettings; kind: Kind }> = {
  targets: { env: 'BENCH_TARGETS', key: 'targets', kind: 'list' },
  scenarios: { env: 'BENCH_SCENARIOS', key: 'scenarios', kind: 'list' },
  only: { env: 'BENCH_ONLY', key: 'scenarios', kind: 'list' },
  connections: { env: 'BENCH_CONNECTIONS', key: 'connections', kind: 'int' },
  'connect-concurrency': { env: 'BENCH_CONNECT_CONCURRENCY', key: 'connectConcurrency', kind: 'int' },
  'settle-ms': { env: 'BENCH_SETTLE_MS', key: 'settleMs', kind: 'int' },
  subscribers: { env: 'BENCH_SUBSCRIBERS', key: 'subscribers', kind: 'int' },
  rates: { env: 'BENCH_FANOUT_RATES', key: 'fanoutRates', kind: 'ints' },
  'phase-seconds': { env: 'BENCH_PHASE_SECONDS', key: 'phaseSeconds', kind: 'int' },
  'max-window': { env: 'BENCH_MAX_WINDOW', key: 'maxWindow', kind: 'int' },
  'max-seconds': { env: 'BENCH_MAX_SECONDS', key: 'maxSeconds', kind: 'int' },
  'payload-bytes': { env: 'BENCH_PAYLOAD_BYTES', key: 'payloadBytes', kind: 'int' },
  'publish-window': { env: 'BENCH_PUBLISH_WINDOW', key: 'publishWindow', kind: 'int' },
  'publish-seconds': { env: 'BENCH_PUBLISH_SECONDS', key: 'publishSeconds', kind: 'int' },
  'per-user-counts': { env: 'BENCH_PER_USER_COUNTS', key: 'perUserCounts', kind: 'ints' },
  'per-user-concurrency': { env: 'BENCH_PER_USER_CONCURRENCY', key: 'perUserConcurrency', kind: 'int' },
  'per-user-timeout-seconds': { env: 'BENCH_PER_USER_TIMEOUT_SECONDS', key: 'perUserTimeoutSeconds', kind: 'int' },
  'per-user-load-processes': { env: 'BENCH_PER_USER_LOAD_PROCESSES', key: 'perUserLoadProcesses', kind: 'int' },
  'many-channels': { env: 'BENCH_MANY_CHANNELS', key: 'manyChannels', kind: 'int' },
  'many-rate': { env: 'BENCH_MANY_RATE', key: 'manyRate', kind: 'int' },
  'many-seconds': { env: 'BENCH_MANY_SECONDS', key: 'manySeconds', kind: 'int' },
  'many-publishers': { env: 'BENCH_MANY_PUBLISHERS', key: 'manyPublishers', kind: 'int' },
  'bystander-connections': { env: 'BENCH_BYSTANDER_CONNECTIONS', key: 'bystanderConnections', kind: 'int' },
  'bystander-channels-per-connection': { env: 'BENCH_BYSTANDER_CHANNELS_PER_CONNECTION', key: 'bystanderChannelsPerConnection', kind: 'int' },
  'bystander-seconds': { env: 'BENCH_BYSTANDER_SECONDS', key: 'bystanderSeconds', kind: 'int' },
  'churn-rate': { env: 'BENCH_CHURN_RATE', key: 'churnRate', kind: 'int' },
  'ping-interval-ms': { env: 'BENCH_PING_INTERVAL_MS', key: 'pingIntervalMs', kind: 'int' },
  'storm-connections': { env: 'BENCH_STORM_CONNECTIONS', key: 'stormConnections', kind: 'int' },
  'idle-seconds': { env: 'BENCH_IDLE_SECONDS', key: 'idleSeconds', kind: 'int' },
  'results-dir': { env: 'BENCH_RESULTS_DIR', key: 'resultsDir', kind: 'string' },
};

/** Settings that must be at least 1 (a zero would divide by zero or run nothing). */
const POSITIVE: ReadonlyArray<keyof BenchSettings> = [
  'perUserConcurrency',
  'perUserTimeoutSeconds',
  'perUserLoadProcesses',
  'manyChannels',
  'manyRate',
  'manySeconds',
  'manyPublishers',
  'bystanderConnections',
  'bystanderChannelsPerConnection',
  'bystanderSeconds',
  'pingIntervalMs',
];

/** One scenario as `--help` lists it. */
export interface ScenarioListing {
  readonly id: string;
  readonly summary: string;
}

/** `scenarios`: every scenario run-all knows, in its default order. */
export function parseSettings(argv: readonly string[], env: NodeJS.ProcessEnv, scenarios: readonly ScenarioListing[]): BenchSettings {
  const settings: BenchSettings = { ...DEFAULTS };
  const raw = new Map<string, string>();
  for (const [flag, spec] of Object.entries(SPEC)) {
    const value = env[spec.env];
    if (value !== undefined && value !== '') raw.set(spec.key, `${flag}=${value}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new UsageError(usage(scenarios), 0);
    // --flag=value, or --flag value
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match || !SPEC[match[1]!]) throw new UsageError(`unknown argument ${arg}\n\n${usage(scenarios)}`);
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${match[1]} needs a value`);
      i += 1;
    }
    raw.set(SPEC[match[1]!]!.key, `${match[1]}=${value}`);
  }
  const target = settings as unknown as Record<string, unknown>;
  for (const entry of raw.values()) {
    const eq = entry.indexOf('=');
    const flag = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    const spec = SPEC[flag]!;
    switch (spec.kind) {
      case 'int': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} (${spec.env}) must be a non-negative integer, got "${value}"`);
        target[spec.key] = n;
        break;
      }
      case 'ints': {
        const list = value.split(',').filter(Boolean).map(Number);
        if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n <= 0)) throw new UsageError(`--${flag} (${spec.env}) must be positive numbers, got "${value}"`);
        target[spec.key] = list;
        break;
      }
      case 'list':
        target[spec.key] = value.split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case 'string':
        target[spec.key] = value;
        break;
    }
  }
  for (const key of POSITIVE) if ((settings[key] as number) < 1) throw new UsageError(`${key} must be at least 1`);
  for (const t of settings.targets ?? []) if (!TARGET_IDS.includes(t)) throw new UsageError(`unknown target "${t}" (${TARGET_IDS.join(', ')})`);
  const known = scenarios.map((s) => s.id);
  if (settings.scenarios.includes(ALL_SCENARIOS)) settings.scenarios = [...known];
  for (const s of settings.scenarios) if (!known.includes(s)) throw new UsageError(`unknown scenario "${s}" (${known.join(', ')})`);
  return settings;
}

export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

function usage(scenarios: readonly ScenarioListing[]): string {
  const lines = Object.entries(SPEC).map(([flag, spec]) => {
    const def = DEFAULTS[spec.key];
    const shown = def === undefined ? "each scenario's own" : Array.isArray(def) ? def.join(',') : String(def);
    return `  --${flag}=…`.padEnd(40) + `${spec.env}`.padEnd(42) + `default ${shown}`;
  });
  return [
    'usage: npm run bench -- [--flag=value | --flag value …]   (or set the environment variable)',
    '',
    'scenarios (--only / --scenarios, comma-separated; default: all, in this order):',
    ...scenarios.map((s) => `  ${s.id.padEnd(22)} ${s.summary}`),
    '',
    `targets (--targets, comma-separated): ${TARGET_IDS.join(', ')}; apix-pg runs on a throwaway database made with createdb (or BENCH_DATABASE_URL); apix-redis on BENCH_REDIS_URL (default redis://127.0.0.1:6379) under a prefix of the run, deleted afterwards`,
    '',
    ...lines,
  ].join('\n');
}
