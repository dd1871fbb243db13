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
  /**
   * A connection whose unsent bytes pass this is closed with 4004 (reconnect and resume).
   * 1 MiB (centrifuge's default) holds about 2,000 events of 500 bytes: less than the default
   * HISTORY_SIZE, so a consumer closed at the cap usually resumes with `recovered: true`.
   */
  MAX_SEND_BUFFER_BYTES: z.coerce.number().int().min(64 * 1024).default(1024 * 1024),
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
  /** Publications kept per channel (with HISTORY_TTL_MS). Chosen above what MAX_SEND_BUFFER_BYTES holds, so a slow consumer can resume. */
  HISTORY_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  HISTORY_TTL_MS: ms(3_600_000),
  IDEMPOTENCY_TTL_MS: ms(300_000),
  /**
   * Acknowledged delivery (docs/adr/0038): an event sent to an acknowledged subscription is
   * sent again if no ack came within ACK_TIMEOUT_MS + a full-jitter backoff (attempt k waits
   * ACK_TIMEOUT_MS + random(0, min(ACK_RETRY_CAP_MS, ACK_RETRY_BASE_MS · ACK_RETRY_FACTOR^k))),
   * at most ACK_MAX_DELIVERIES times in all; then it is dead-lettered. Channel settings may
   * override each value. ACK_WINDOW bounds the unacked events one subscription holds.
   */
  ACK_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  ACK_RETRY_BASE_MS: z.coerce.number().int().min(0).default(1_000),
  ACK_RETRY_FACTOR: z.coerce.number().min(1).default(2),
  ACK_RETRY_CAP_MS: z.coerce.number().int().min(0).default(60_000),
  ACK_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(5),
  ACK_WINDOW: z.coerce.number().int().min(1).max(1_000).default(100),
  /**
   * Queue groups (ADR 0042): a member's unacked event goes to another member once nobody was
   * handed it for GROUP_IDLE_MS. Never below ACK_TIMEOUT_MS + ACK_RETRY_CAP_MS + 1 s (a live
   * member redelivers to itself sooner than that, so only a dead member's events idle longer);
   * unset or lower: that floor (66 s with the ACK_* defaults). Channel settings may override it
   * (`deliveryPolicy.groupIdleMs`). Caps, counted per node: distinct queue groups per
   * organisation, and members per group.
   */
  GROUP_IDLE_MS: z.coerce.number().int().min(100).optional(),
  GROUP_MAX_PER_ORGANIZATION: z.coerce.number().int().min(0).default(100),
  GROUP_MAX_MEMBERS: z.coerce.number().int().min(1).default(100),
  /**
   * Acknowledged groups of sessions that expired without coming back are removed when a node
   * joins a group on their channel, at most once per channel and node per this interval, up to
   * 100 groups per pass (ADR 0048). Only groups idle longer than SESSION_TTL_MS whose session is
   * gone from the session store.
   */
  GROUP_HYGIENE_INTERVAL_MS: ms(300_000),
  /**
   * How long a disconnected client may resume its session (same session id, subscriptions
   * back, missed events replayed) with the `sessionToken` it was given (ADR 0040).
   */
  SESSION_TTL_MS: ms(600_000),
  /** Secret for session tokens (HMAC). Unset: derived from the JWT signing key, which the nodes already share. */
  SESSION_SECRET: z.string().min(32).optional(),
  /**
   * Session positions are written to the engine at most this often per session, coalesced
   * (never a write per delivered event): a resume that relies on the server's stored position
   * may replay up to this much traffic twice (the SDK drops the duplicates).
   */
  SESSION_FLUSH_MS: ms(1_000),
  /** Sessions the memory engine keeps per organisation (least recently written out first). */
  SESSION_MAX_PER_ORGANIZATION: z.coerce.number().int().min(1).default(50_000),
  /**
   * Retention of users' inbox channels (`user:<userId>:inbox`) unless the channel's own
   * settings say otherwise: long enough for a user who is offline for days.
   */
  INBOX_HISTORY_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  INBOX_HISTORY_TTL_MS: ms(7 * 86_400_000),
  SHUTDOWN_TIMEOUT_MS: ms(10_000),
  /** PostgreSQL (`postgres://…`). Unset: embedded PGlite in `<APIX_DATA_DIR>/pglite`. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /**
   * Bound on every storage call (connect, query, statement), PostgreSQL and embedded alike: a
   * database that is down or stalled makes callers fail fast with APIX_ERR_UNAVAILABLE instead
   * of hanging. Migrations at start-up are not bounded by it.
   */
  STORAGE_TIMEOUT_MS: ms(5_000),
  /**
   * Self-service `POST /api/v1/auth/register` (creates an organisation with a generated id;
   * only platform admins may name one, ADR 0030). Default: open, unless JWKS_URL is set — then
   * closed, since the issuer's users come from the issuer. Closed: platform admins only.
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
  /**
   * Permission inputs (memberships, roles, API keys, channel rows) are loaded once and kept
   * current by change events (admin API, other nodes over the engine's control bus). An answer
   * older than this is still used, and refreshed in the background: the safety net for changes
   * made without an event (e.g. by hand in the database).
   */
  PERMISSION_CACHE_TTL_MS: ms(30_000),
  /** Permission inputs cached at most, per kind (least recently used out first): the keys may be client input. */
  PERMISSION_CACHE_MAX_ENTRIES: z.coerce.number().int().min(100).default(100_000),
  /**
   * While storage is unavailable, the last known permission decision stands for this long
   * (then new subscribes, publishes and history reads that need it fail with
   * APIX_ERR_UNAVAILABLE). Open subscriptions are never revoked by an outage.
   */
  PERMISSION_STALE_MAX_MS: ms(600_000),
  /** Open WebSocket connections per node (0: no limit). Past it, upgrades get 503 with a Retry-After hint. */
  MAX_CONNECTIONS: z.coerce.number().int().min(0).default(0),
  /**
   * On shutdown (4000) and overload refusals each client is told to wait a random time in
   * [0, this) before reconnecting (`connection.closing.retryAfterMs`), so a node going away
   * does not cause a reconnect storm elsewhere.
   */
  RECONNECT_SPREAD_MS: ms(5_000),
  /** How often connection heartbeats are written to storage, in one batch. */
  HEARTBEAT_FLUSH_MS: ms(10_000),
  /**
   * Audit rows for publishes on channels without their own setting: `all`, `sampled` (at
   * AUDIT_PUBLISH_SAMPLE_RATE) or `none`. Every connection, subscription, denial and admin
   * action is always audited (itemised up to AUDIT_ORGANIZATION_ROWS_PER_SECOND, counted past
   * it); a row per publish costs throughput, so it is sampled by default.
   */
  AUDIT_PUBLISH_MODE: z.enum(['all', 'sampled', 'none']).default('sampled'),
  AUDIT_PUBLISH_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.01),
  /**
   * Ordinary audit rows (connections, subscriptions, sampled publishes) one organisation may add
   * per second, itemised; past it (after a burst of twice as many) they are counted into one
   * `audit.summarised` row per organisation per second. Denials, failed authentications and admin
   * actions are never budgeted. 0: no budget. The database is shared: without it one tenant's
   * subscribe storm kept the embedded database busy writing its rows, slowing everyone (issue 7).
   */
  AUDIT_ORGANIZATION_ROWS_PER_SECOND: z.coerce.number().int().min(0).default(200),
  /** How often storage clean-ups run (stale connection rows, archive retention, expired refresh tokens). */
  MAINTENANCE_INTERVAL_MS: ms(60_000),
  /** Disconnected connection rows are kept this long. */
  CONNECTION_ROW_RETENTION_MS: ms(7 * 86_400_000),
  /**
   * Redis (`redis://…` / `rediss://…`): the cluster engine (streams + Pub/Sub). Unset: the
   * embedded memory engine (one process). Several processes with the same REDIS_URL and
   * DATABASE_URL form a cluster.
   */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  /** A Redis Cluster instead: comma-separated `host:port` seed nodes (takes precedence over REDIS_URL). */
  REDIS_CLUSTER_NODES: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port…]').optional(),
  /** First part of every Redis key and Pub/Sub channel, so deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . : -').default('apix'),
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

  // --- hardening (docs/limits.md) ---
  /** An HTTP request (or WebSocket upgrade) whose headers are not complete by then is dropped (slowloris). */
  HTTP_HEADERS_TIMEOUT_MS: ms(10_000),
  /** A whole HTTP request, body included, must arrive within this (slow bodies). Not less than the headers timeout. */
  HTTP_REQUEST_TIMEOUT_MS: ms(30_000),
  /** An idle keep-alive HTTP connection is closed after this. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: ms(5_000),
  /** Prefix of rate-limit counters in Redis: nodes of one cluster share it; installations sharing a Redis need different ones. */
  RATE_LIMIT_REDIS_PREFIX: z.string().min(1).max(100).default('apix:rl'),
  /** HTTP API requests per second per credential (token or API key). Past it: 429 APIX_ERR_RATE_LIMITED + Retry-After. 0: no limit. */
  HTTP_RATE_LIMIT_PER_CREDENTIAL: z.coerce.number().int().min(0).default(100),
  /** HTTP API requests per second per organisation, all its credentials together. 0: no limit. */
  HTTP_RATE_LIMIT_PER_ORGANIZATION: z.coerce.number().int().min(0).default(1_000),
  /** Login/register/refresh attempts per minute per client IP. 0: no limit. */
  AUTH_RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).default(100),
  /** Login/register attempts per minute per account (email), whether it exists or not. 0: no limit. */
  AUTH_RATE_LIMIT_PER_ACCOUNT: z.coerce.number().int().min(0).default(10),
  /** Publishes per second per channel, across the cluster. 0: no limit. */
  CHANNEL_PUBLISH_RATE_LIMIT: z.coerce.number().int().min(0).default(5_000),
  /**
   * A connection refused this many requests for its rate within 10 s is a flooder and is
   * closed with 4005 (RATE_LIMITED). 0: never closed.
   */
  RATE_LIMIT_DISCONNECT_AFTER: z.coerce.number().int().min(0).default(500),
  /** permessage-deflate on WebSockets: off by default (CPU and memory per message); opt in here. */
  WS_COMPRESSION: bool.default(false),
  /** With WS_COMPRESSION: messages below this many bytes are sent uncompressed. */
  WS_COMPRESSION_THRESHOLD_BYTES: z.coerce.number().int().min(0).default(1024),
  /** With WS_COMPRESSION: the server compressor's window, 2^bits bytes (9–15). */
  WS_COMPRESSION_WINDOW_BITS: z.coerce.number().int().min(9).max(15).default(10),
  /** With WS_COMPRESSION: (de)compression jobs at once, process-wide. */
  WS_COMPRESSION_CONCURRENCY: z.coerce.number().int().min(1).default(10),
  // Per-organisation quota defaults (overrides per organisation in the database; docs/limits.md).
  /** Bytes of history the memory engine keeps per organisation (all channels together). */
  QUOTA_HISTORY_BYTES: z.coerce.number().int().positive().default(64 * 1024 * 1024),
  /** Channels per organisation (configured rows; live channels on this node). */
  QUOTA_CHANNELS: z.coerce.number().int().positive().default(10_000),
  /** Open WebSocket connections per organisation on one node. */
  QUOTA_CONNECTIONS: z.coerce.number().int().positive().default(10_000),
  /** Subscriptions per organisation on one node (all its connections). */
  QUOTA_SUBSCRIPTIONS: z.coerce.number().int().positive().default(100_000),
  /** Publishes per second per organisation, across the cluster. */
  QUOTA_PUBLISHES_PER_SECOND: z.coerce.number().int().positive().default(10_000),
  /** Encoded event bytes published per second per organisation, across the cluster. Not below MAX_FRAME_BYTES. */
  QUOTA_PUBLISH_BYTES_PER_SECOND: z.coerce.number().int().positive().default(16 * 1024 * 1024),
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
