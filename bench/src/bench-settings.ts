import { fileURLToPath } from 'node:url';
import type { TargetId } from './targets.js';

export type ScenarioId = 'connections' | 'fanout' | 'publish' | 'fanout-cluster';

/** Everything a run can be told, from `--flag=value` arguments or BENCH_* environment variables. */
export interface BenchSettings {
  targets: TargetId[];
  scenarios: ScenarioId[];
  /** Scenario 1 */
  connections: number;
  connectConcurrency: number;
  /** Wait after the last connection before reading the server's RSS. */
  settleMs: number;
  /** Scenario 2 */
  subscribers: number;
  /** Open-loop publication rates (events/s), one phase each. */
  fanoutRates: number[];
  phaseSeconds: number;
  /** Closed-loop max-throughput phase: publications in flight and duration (0 s: skip). */
  maxWindow: number;
  maxSeconds: number;
  payloadBytes: number;
  /** Scenario 3 */
  publishWindow: number;
  publishSeconds: number;
  /** Where the JSON results go. */
  resultsDir: string;
}

const DEFAULTS: BenchSettings = {
  targets: ['apix', 'apix-redis', 'ws', 'socketio'],
  scenarios: ['connections', 'fanout', 'publish', 'fanout-cluster'],
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
  resultsDir: fileURLToPath(new URL('../results', import.meta.url)),
};

/** flag name (kebab-case) → env name → setting */
const SPEC: Record<string, { env: string; key: keyof BenchSettings; kind: 'int' | 'ints' | 'list' | 'string' }> = {
  targets: { env: 'BENCH_TARGETS', key: 'targets', kind: 'list' },
  scenarios: { env: 'BENCH_SCENARIOS', key: 'scenarios', kind: 'list' },
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
  'results-dir': { env: 'BENCH_RESULTS_DIR', key: 'resultsDir', kind: 'string' },
};

const KNOWN_TARGETS: readonly string[] = ['apix', 'apix-redis', 'ws', 'socketio'];
const KNOWN_SCENARIOS: readonly string[] = ['connections', 'fanout', 'publish', 'fanout-cluster'];

export function parseSettings(argv: readonly string[], env: NodeJS.ProcessEnv): BenchSettings {
  const settings: BenchSettings = { ...DEFAULTS };
  const raw = new Map<string, string>();
  for (const [flag, spec] of Object.entries(SPEC)) {
    const value = env[spec.env];
    if (value !== undefined && value !== '') raw.set(flag, value);
  }
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') throw new UsageError(usage(), 0);
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match || !SPEC[match[1]!]) throw new UsageError(`unknown argument ${arg}\n\n${usage()}`);
    raw.set(match[1]!, match[2]!);
  }
  for (const [flag, value] of raw) {
    const spec = SPEC[flag]!;
    const target = settings as unknown as Record<string, unknown>;
    switch (spec.kind) {
      case 'int': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} (${spec.env}) must be a non-negative integer, got "${value}"`);
        target[spec.key] = n;
        break;
      }
      case 'ints': {
        const list = value.split(',').filter(Boolean).map(Number);
        if (list.some((n) => !Number.isFinite(n) || n <= 0)) throw new UsageError(`--${flag} (${spec.env}) must be positive numbers, got "${value}"`);
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
  for (const t of settings.targets) if (!KNOWN_TARGETS.includes(t)) throw new UsageError(`unknown target "${t}" (apix, apix-redis, ws, socketio)`);
  for (const s of settings.scenarios) if (!KNOWN_SCENARIOS.includes(s)) throw new UsageError(`unknown scenario "${s}" (connections, fanout, publish, fanout-cluster)`);
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

function usage(): string {
  const lines = Object.entries(SPEC).map(([flag, spec]) => {
    const def = DEFAULTS[spec.key];
    return `  --${flag}=…`.padEnd(26) + `${spec.env}`.padEnd(28) + `default ${Array.isArray(def) ? def.join(',') : String(def)}`;
  });
  return ['usage: npm run bench -- [--flag=value …]   (or set the environment variable)', ...lines].join('\n');
}
