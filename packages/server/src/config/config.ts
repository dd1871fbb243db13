import { z } from 'zod';

// Booleans arrive as strings from the environment and as booleans from code (tests, embedding).
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const ms = (def: number) => z.coerce.number().int().positive().default(def);

/**
 * Every setting APIX reads, from environment variables, validated at start-up. A bad value
 * stops the process with one clear line (see `loadConfig`). The README's configuration
 * table is this schema; keep them together.
 */
export const configSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Folder for the embedded default: signing keys, PGlite database. */
  APIX_DATA_DIR: z.string().min(1).default('.apix-data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Comma-separated Origins allowed to open WebSockets, or `*`. Empty (default): only
   * same-host browser origins; clients that send no Origin (servers, mobile) are allowed.
   */
  ALLOWED_ORIGINS: z.string().default(''),
  JWT_ISSUER: z.string().min(1).default('apix'),
  JWT_AUDIENCE: z.string().min(1).default('apix'),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** Lifetime of tokens minted by `apix token` and the start-up dev token. */
  DEV_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
  MAX_FRAME_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  /** A connection whose unsent bytes pass this is closed with 4004 (reconnect and resume). */
  MAX_SEND_BUFFER_BYTES: z.coerce.number().int().min(64 * 1024).default(8 * 1024 * 1024),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().positive().default(1000),
  /**
   * Requests per second one connection may send (token bucket; `heartbeat.ping` is exempt).
   * Past it a request is answered APIX_ERR_RATE_LIMITED (retryable) and not executed. 0: no limit.
   */
  RATE_LIMIT_REQUESTS_PER_SECOND: z.coerce.number().int().min(0).default(2_000),
  /** Requests a connection may send in a burst above the rate. */
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(5_000),
  CONNECT_TIMEOUT_MS: ms(10_000),
  PING_INTERVAL_MS: ms(25_000),
  PONG_TIMEOUT_MS: ms(10_000),
  /** Suggested interval for the client's application heartbeat (`heartbeat.ping`). */
  CLIENT_HEARTBEAT_INTERVAL_MS: ms(25_000),
  TOKEN_EXPIRY_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  HISTORY_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(2_000),
  HISTORY_TTL_MS: ms(3_600_000),
  IDEMPOTENCY_TTL_MS: ms(300_000),
  SHUTDOWN_TIMEOUT_MS: ms(10_000),
  /** PostgreSQL (`postgres://…`). Unset: embedded PGlite in `<APIX_DATA_DIR>/pglite`. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /**
   * Self-service `POST /api/v1/auth/register` (creates an organisation). Default: open, unless
   * JWKS_URL is set — then closed, because registering an organisation id the external issuer
   * uses would take that organisation over. Closed: organisations come from platform admins.
   */
  REGISTRATION: z.enum(['open', 'closed']).optional(),
  /** Lifetime of access tokens issued by the auth API. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  /** Lifetime of refresh tokens (rotated on every use). */
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).default(30 * 86_400),
  /** Trust an external issuer's tokens too: its JWKS URL (cached; see JWKS_COOLDOWN_MS). */
  JWKS_URL: z.url().optional(),
  /** `iss` that external tokens must carry (required with JWKS_URL). */
  JWKS_ISSUER: z.string().min(1).optional(),
  /** `aud` that external tokens must carry; defaults to JWT_AUDIENCE. */
  JWKS_AUDIENCE: z.string().min(1).optional(),
  /** An unknown `kid` triggers at most one JWKS fetch per this period. */
  JWKS_COOLDOWN_MS: ms(30_000),
  /** How long permission, membership and API-key lookups are cached (revocations take effect within this plus REVALIDATE_INTERVAL_MS). */
  PERMISSION_CACHE_TTL_MS: ms(2_000),
  /** How often open connections are re-checked against current permissions. */
  REVALIDATE_INTERVAL_MS: ms(2_000),
  /** How often connection heartbeats are written to storage, in one batch. */
  HEARTBEAT_FLUSH_MS: ms(10_000),
  /**
   * Audit rows for publishes on channels without their own setting: `all`, `sampled` (at
   * AUDIT_PUBLISH_SAMPLE_RATE) or `none`. Every connection, subscription, denial and admin
   * action is always audited; a row per publish costs throughput, so it is sampled by default.
   */
  AUDIT_PUBLISH_MODE: z.enum(['all', 'sampled', 'none']).default('sampled'),
  AUDIT_PUBLISH_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.01),
  /** How often storage clean-ups run (stale connection rows, archive retention, expired refresh tokens). */
  MAINTENANCE_INTERVAL_MS: ms(60_000),
  /** Disconnected connection rows are kept this long. */
  CONNECTION_ROW_RETENTION_MS: ms(7 * 86_400_000),
  /**
   * Latency and throughput tracking (LatencyTracker; docs/monitoring.md). `false` takes it off
   * the data plane entirely: the monitoring API then reports zeros, /metrics only process metrics.
   */
  MONITORING_TRACKING: bool.default(true),
  /** Organisations with their own latency/throughput series; later ones are counted under `other` (bounds memory and metric cardinality). */
  MONITORING_MAX_ORGANIZATIONS: z.coerce.number().int().min(1).max(10_000).default(50),
  /** One latency window: "recent" percentiles cover the current and the previous window. */
  MONITORING_WINDOW_MS: ms(10_000),
  /** Seconds of per-second samples kept for the dashboard's charts. */
  MONITORING_TIMELINE_SECONDS: z.coerce.number().int().min(10).max(3_600).default(120),
  /** Alerts kept in the list (active ones always; cleared ones dropped oldest first). */
  MONITORING_MAX_ALERTS: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Alert when an organisation's publish→deliver p99 over the recent window passes this (ms). */
  ALERT_DELIVERY_P99_MS: ms(1_000),
  /** Alert when the event-loop delay p99 over one second passes this (ms). */
  ALERT_EVENT_LOOP_LAG_MS: ms(200),
  /** Alert when a storage write queue (audit, archive, connection rows) holds more rows than this. */
  ALERT_QUEUE_DEPTH: z.coerce.number().int().min(1).default(5_000),
  /** Alert when an organisation's rate-limit refusals plus slow-consumer closes pass this per second. */
  ALERT_ERROR_RATE_PER_SECOND: z.coerce.number().min(0).default(50),
  /** Organisation whose `system:alerts` channel carries platform-wide alerts (event loop, storage) for platform admins. */
  PLATFORM_ALERTS_ORGANIZATION: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('platform'),
  /** `/metrics` on the main port accepts `Authorization: Bearer <METRICS_TOKEN>` (besides platform-admin tokens). Unset: platform admins only. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** Serve `/metrics` without a token on this separate port (bind it to a private interface: METRICS_HOST), instead of the main port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Add an `organization` label to per-organisation metrics (bounded by MONITORING_MAX_ORGANIZATIONS). */
  METRICS_ORGANIZATION_LABEL: bool.default(false),
  /** Serve the dashboard at /dashboard (from packages/dashboard/dist, or DASHBOARD_DIR). */
  DASHBOARD: bool.default(true),
  DASHBOARD_DIR: z.string().min(1).optional(),
  /** Print the start-up banner with a dev token (embedded default). */
  PRINT_DEV_TOKEN: bool.default(true),
});

export type ApiXConfig = z.infer<typeof configSchema>;
export type ApiXConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses settings; throws one `ConfigError` whose message is a single line naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ApiXConfig {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const result = configSchema.refine((c) => c.JWKS_URL === undefined || c.JWKS_ISSUER !== undefined, {
    message: 'JWKS_ISSUER is required with JWKS_URL',
    path: ['JWKS_ISSUER'],
  }).safeParse(known);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}=${JSON.stringify(known[String(i.path[0])])}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Config for programmatic use (tests, embedding): defaults, overridden by the given values. */
export function buildConfig(overrides: Partial<ApiXConfigInput> = {}): ApiXConfig {
  return configSchema.parse(overrides);
}
