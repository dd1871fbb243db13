import { randomUUID } from 'node:crypto';
import { ChannelType, ClientType, ConnectionStatus } from '@apix/protocol';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';

/**
 * The APIX data model (see docs/data-model.md).
 *
 * Conventions:
 * - Ids are text generated in TypeScript (`crypto.randomUUID()`), so a row's id is known
 *   before the insert and the same code works on PostgreSQL and PGlite. A UUID matches
 *   the organisation/user id grammar of `@apix/protocol` (`[A-Za-z0-9_-]{1,64}`).
 * - Every timestamp is `timestamptz`; the application always passes UTC instants.
 * - Tables holding tenant data carry `organization_id`; every repository read filters by it.
 * - Data-plane tables (connections, events, channels, audit_log) have no foreign key to
 *   `organizations`: with an external token issuer the organisation exists only as a
 *   verified JWT claim, never as a row here. Identity tables that APIX owns (memberships,
 *   api_keys, refresh_tokens) do reference their organisation and user.
 * - Only SQL that PostgreSQL 15 and PGlite both accept (the migrations run on both).
 */

/** Values of a TS const enum object as the non-empty tuple `pgEnum` wants. */
function enumValues<T extends Record<string, string>>(values: T): [T[keyof T], ...T[keyof T][]] {
  return Object.values(values) as [T[keyof T], ...T[keyof T][]];
}

const newId = (): string => randomUUID();
const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

// ---------------------------------------------------------------------------------------
// Enums (the seed's three, plus APIX's own)
// ---------------------------------------------------------------------------------------

export const clientTypeEnum = pgEnum('client_type', enumValues(ClientType));
export const connectionStatusEnum = pgEnum('connection_status', enumValues(ConnectionStatus));
export const channelTypeEnum = pgEnum('channel_type', enumValues(ChannelType));

/** Which publishes on a channel write an audit row: every one, a sample, or none. */
export const AuditPublishMode = { ALL: 'all', SAMPLED: 'sampled', NONE: 'none' } as const;
export type AuditPublishMode = (typeof AuditPublishMode)[keyof typeof AuditPublishMode];
export const auditPublishModeEnum = pgEnum('audit_publish_mode', enumValues(AuditPublishMode));

/** Who performed an audited action. */
export const AuditActorType = {
  USER: 'user',
  API_KEY: 'api_key',
  SERVICE: 'service',
  SYSTEM: 'system',
  ANONYMOUS: 'anonymous',
} as const;
export type AuditActorType = (typeof AuditActorType)[keyof typeof AuditActorType];
export const auditActorTypeEnum = pgEnum('audit_actor_type', enumValues(AuditActorType));

/** How an audited action ended: done, failed (error, bad credential), or refused by policy. */
export const AuditOutcome = { SUCCESS: 'success', FAILURE: 'failure', DENIED: 'denied' } as const;
export type AuditOutcome = (typeof AuditOutcome)[keyof typeof AuditOutcome];
export const auditOutcomeEnum = pgEnum('audit_outcome', enumValues(AuditOutcome));

// ---------------------------------------------------------------------------------------
// Identity: organisations, users, memberships, API keys, refresh tokens
// ---------------------------------------------------------------------------------------

export const organizations = pgTable(
  'organizations',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  // Same grammar as `organizationIdSchema` in `@apix/protocol`: the id ends up inside channel keys.
  (t) => [check('organizations_id_grammar', sql`${t.id} ~ '^[A-Za-z0-9_-]{1,64}$'`)],
);

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    /** Stored lower-cased (the repository normalises), so uniqueness is case-insensitive. */
    email: text('email').notNull(),
    /** An encoded password hash (algorithm and parameters inside); null: no password login. */
    passwordHash: text('password_hash'),
    displayName: text('display_name'),
    createdAt: createdAt(),
    /** Set when the account is disabled; credentials of a disabled user are refused. */
    disabledAt: timestamp('disabled_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    unique('users_email_unique').on(t.email),
    check('users_id_grammar', sql`${t.id} ~ '^[A-Za-z0-9_-]{1,64}$'`),
  ],
);

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Role names, e.g. `owner`, `admin`, `member`; they end up in the JWT's `roles` claim. */
    roles: text('roles').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'memberships_pk', columns: [t.userId, t.organizationId] }),
    index('memberships_organization_idx').on(t.organizationId),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /**
     * The non-secret start of the key as shown to the user; the lookup handle at
     * authentication (unique, so one row at most is compared against the hash).
     */
    keyPrefix: text('key_prefix').notNull(),
    /** Hash of the whole secret key; the secret itself is never stored. */
    keyHash: text('key_hash').notNull(),
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    createdByUserId: text('created_by_user_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    unique('api_keys_key_prefix_unique').on(t.keyPrefix),
    index('api_keys_organization_idx').on(t.organizationId, t.createdAt),
  ],
);

/**
 * Refresh tokens rotate: each use replaces the token with a new one of the same family.
 * Presenting a token that was already replaced or revoked is reuse (likely theft), and
 * revokes the whole family.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    /** All tokens descending from one login share a family. */
    familyId: text('family_id').notNull(),
    /** Hash of the opaque token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** The token that replaced this one at rotation; set together with `revokedAt`. */
    replacedById: text('replaced_by_id'),
  },
  (t) => [
    unique('refresh_tokens_token_hash_unique').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
    index('refresh_tokens_expires_idx').on(t.expiresAt),
    foreignKey({ name: 'refresh_tokens_replaced_by_fk', columns: [t.replacedById], foreignColumns: [t.id] }).onDelete(
      'set null',
    ),
  ],
);

// ---------------------------------------------------------------------------------------
// Data plane: the seed's ApiXChannel, ApiXConnection, ApiXEvent
// ---------------------------------------------------------------------------------------

/**
 * The seed's `ApiXChannel`, with one deliberate change: the seed makes `name` globally
 * unique, but channel names are relative to their organisation (`agent:a1` of org A and
 * `agent:a1` of org B are different channels), so the key is UNIQUE (organization_id, name).
 */
export const channels = pgTable(
  'channels',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    organizationId: text('organization_id').notNull(),
    name: text('name').notNull(),
    type: channelTypeEnum('type').notNull(),
    /** Role/scope rules for subscribe and publish, interpreted by the channel authoriser. */
    permissions: jsonb('permissions').$type<Record<string, unknown>>().notNull().default({}),
    /** Approximate subscriber count across the cluster, maintained by the subscription manager. */
    subscribers: integer('subscribers').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** Broker log retention (count); null: the server default (HISTORY_SIZE). */
    historySize: integer('history_size'),
    /** Broker log retention (age, ms); null: the server default (HISTORY_TTL_MS). */
    historyTtlMs: bigint('history_ttl_ms', { mode: 'number' }),
    /** How long archived events are kept (ms); null keeps them until deleted. */
    archiveRetentionMs: bigint('archive_retention_ms', { mode: 'number' }),
    /** Subscribers must acknowledge deliveries (redelivery, dead letter) whatever they ask for. */
    acknowledgmentRequired: boolean('acknowledgment_required').notNull().default(false),
    /** Redelivery of acknowledged subscriptions (ADR 0038), any subset of its fields; null: the server's ACK_* settings. */
    deliveryPolicy: jsonb('delivery_policy').$type<Record<string, unknown>>(),
    /** Copy every publication into the `events` archive. */
    persistEvents: boolean('persist_events').notNull().default(false),
    auditPublishMode: auditPublishModeEnum('audit_publish_mode').notNull().default('all'),
    /** Fraction of publishes audited when the mode is `sampled`. */
    auditSampleRate: doublePrecision('audit_sample_rate').notNull().default(0.01),
    /**
     * End-to-end encrypted: publishes must carry an encrypted envelope (`encryptedPayloadSchema`
     * in @apix/protocol) as their payload; plaintext is refused. The server never sees keys.
     */
    encrypted: boolean('encrypted').notNull().default(false),
    /**
     * Presence (members, `presence.join`/`presence.leave`): true on, false off, null the
     * default by namespace — on for `room:` channels, off for the others.
     */
    presence: boolean('presence'),
  },
  (t) => [
    unique('channels_organization_name_unique').on(t.organizationId, t.name),
    check('channels_subscribers_non_negative', sql`${t.subscribers} >= 0`),
    check('channels_audit_sample_rate_range', sql`${t.auditSampleRate} >= 0 AND ${t.auditSampleRate} <= 1`),
    check('channels_history_size_non_negative', sql`${t.historySize} IS NULL OR ${t.historySize} >= 0`),
  ],
);

/** The seed's `ApiXConnection`: one row per WebSocket session, kept by the ConnectionManager. */
export const connections = pgTable(
  'connections',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    organizationId: text('organization_id').notNull(),
    userId: text('user_id'),
    /** Stable across resumes: a resumed session updates its row instead of adding one. */
    sessionId: text('session_id').notNull(),
    clientType: clientTypeEnum('client_type').notNull(),
    channels: text('channels').array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    connectedAt: timestamp('connected_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastHeartbeat: timestamp('last_heartbeat', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    status: connectionStatusEnum('status').notNull(),
    /** The APIX process holding the socket, so a dead node's connections can be marked. */
    nodeId: text('node_id'),
    disconnectedAt: timestamp('disconnected_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    unique('connections_session_id_unique').on(t.sessionId),
    index('connections_organization_status_idx').on(t.organizationId, t.status),
    index('connections_status_heartbeat_idx').on(t.status, t.lastHeartbeat),
    index('connections_node_idx').on(t.nodeId),
  ],
);

/**
 * The seed's `ApiXEvent`, used as the durable archive of a channel's publications. Each
 * row is identified by its stream position; the UNIQUE (organization_id, channel, epoch,
 * offset) key makes archive writes idempotent (a retried batch inserts nothing twice) and
 * serves offset range reads.
 */
export const events = pgTable(
  'events',
  {
    id: text('id').primaryKey().$defaultFn(newId),
    organizationId: text('organization_id').notNull(),
    channel: text('channel').notNull(),
    epoch: text('epoch').notNull(),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<unknown>(),
    sessionId: text('session_id'),
    acknowledgment: boolean('acknowledgment').notNull().default(false),
    retryCount: integer('retry_count').notNull().default(0),
    createdAt: createdAt(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
  },
  (t) => [
    unique('events_position_unique').on(t.organizationId, t.channel, t.epoch, t.offset),
    index('events_organization_channel_created_idx').on(t.organizationId, t.channel, t.createdAt),
    index('events_created_idx').on(t.createdAt),
  ],
);

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

/**
 * Append-only audit trail. `sequence` is assigned by the database at insert, so it is one
 * total order of insertion per database; the AuditLogger inserts each process's rows in
 * the order they were recorded, and `created_at` is when the action happened (which can be
 * earlier than the insert while storage was down). `organization_id` is null only for
 * actions before any organisation was known (e.g. an unreadable token).
 */
export const auditLog = pgTable(
  'audit_log',
  {
    sequence: bigint('sequence', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    organizationId: text('organization_id'),
    actorType: auditActorTypeEnum('actor_type').notNull(),
    actorId: text('actor_id'),
    /** Dotted verb, e.g. `auth.failure`, `subscription.denied`, `admin.api_key.created`. */
    action: text('action').notNull(),
    channel: text('channel'),
    /** What the action was applied to, when not a channel (a user id, a key id, a session). */
    target: text('target'),
    outcome: auditOutcomeEnum('outcome').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index('audit_log_organization_sequence_idx').on(t.organizationId, t.sequence),
    index('audit_log_organization_created_idx').on(t.organizationId, t.createdAt),
    index('audit_log_organization_action_idx').on(t.organizationId, t.action, t.sequence),
    index('audit_log_organization_actor_idx').on(t.organizationId, t.actorId, t.sequence),
    index('audit_log_organization_channel_idx').on(t.organizationId, t.channel, t.sequence),
  ],
);

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

/**
 * Per-organisation quota overrides (docs/limits.md). A null column takes the server default
 * (QUOTA_* settings). No foreign key to `organizations`: organisations known only from
 * another issuer's tokens can be given quotas too. Read into memory at start and on change.
 */
export const organizationQuotas = pgTable(
  'organization_quotas',
  {
    organizationId: text('organization_id').primaryKey(),
    historyBytes: bigint('history_bytes', { mode: 'number' }),
    channels: integer('channels'),
    connections: integer('connections'),
    subscriptions: integer('subscriptions'),
    publishesPerSecond: integer('publishes_per_second'),
    publishBytesPerSecond: bigint('publish_bytes_per_second', { mode: 'number' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check(
      'organization_quotas_positive',
      sql`(${t.historyBytes} IS NULL OR ${t.historyBytes} > 0) AND (${t.channels} IS NULL OR ${t.channels} > 0) AND (${t.connections} IS NULL OR ${t.connections} > 0) AND (${t.subscriptions} IS NULL OR ${t.subscriptions} > 0) AND (${t.publishesPerSecond} IS NULL OR ${t.publishesPerSecond} > 0) AND (${t.publishBytesPerSecond} IS NULL OR ${t.publishBytesPerSecond} > 0)`,
    ),
  ],
);

export type OrganizationQuotaRow = typeof organizationQuotas.$inferSelect;
export type OrganizationRow = typeof organizations.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
export type ChannelRow = typeof channels.$inferSelect;
export type ConnectionRow = typeof connections.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type AuditLogRow = typeof auditLog.$inferSelect;
