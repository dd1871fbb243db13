import { z } from 'zod';
import { refineStorable } from './storage-safe.js';
import { channelNameSchema, organizationIdSchema } from './channel-name.js';
import { channelTypeSchema, clientTypeSchema, connectionStatusSchema } from './enums.js';

/**
 * Contracts of the control plane's HTTP API (auth, administration, channels, connections,
 * audit). The server validates with these and the OpenAPI document is generated from them.
 */

// ---------- identity ----------

export const apiKeyScopeSchema = z.enum(['publish', 'subscribe', 'history', 'admin']);
export type ApiKeyScope = z.infer<typeof apiKeyScopeSchema>;

/** Organisation roles. `admin` manages its organisation; others are free-form labels channel permissions may name. */
export const roleSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'role must be 1-32 of a-z 0-9 _ - starting with a letter');
export const ORGANIZATION_ADMIN_ROLE = 'admin';
/** Operators of the whole installation: may create organisations. Granted only through tokens minted by the operator. */
export const PLATFORM_ADMIN_ROLE = 'platform-admin';

const email = z.email().max(254).transform((e) => e.toLowerCase());
const password = z.string().min(10, 'password must have at least 10 characters').max(200);

export const registerBodySchema = z.strictObject({
  email,
  password,
  name: z.string().min(1).max(200).optional(),
  /**
   * Creates an organisation with the new user as its admin. The server generates its id;
   * naming one (`id`) needs a platform admin's bearer token (see docs/auth.md), so nobody can
   * claim an id that tokens of another issuer already use.
   */
  organization: z.strictObject({ id: organizationIdSchema.optional(), name: z.string().min(1).max(200) }),
}).superRefine(refineStorable);
export type RegisterBody = z.infer<typeof registerBodySchema>;

export const loginBodySchema = z.strictObject({
  email,
  password: z.string().min(1).max(200),
  /** Needed when the user belongs to more than one organisation. */
  organizationId: organizationIdSchema.optional(),
}).superRefine(refineStorable);
export const refreshBodySchema = z.strictObject({ refreshToken: z.string().min(1).max(500) }).superRefine(refineStorable);
export const logoutBodySchema = refreshBodySchema;

export const tokenResponseSchema = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string(),
  /** Seconds until the access token expires. */
  expiresIn: z.number().int(),
  refreshToken: z.string(),
  userId: z.string(),
  organizationId: z.string(),
  roles: z.array(z.string()),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/**
 * `GET /api/v1/auth/validate`.
 * with the other contracts; defined here until that file is opened for it, so SDKs cannot
 * import it yet.
 */
export const tokenValidationResponseSchema = z.object({
  valid: z.literal(true),
  kind: z.enum(['user', 'api_key']),
  userId: z.string(),
  organizationId: z.string(),
  /** Current effective roles (from the membership for organisations APIX manages), not merely the token's claim. */
  roles: z.array(z.string()),
  /** API keys: what the key may do. */
  scopes: z.array(z.string()),
  /** When the credential expires, ms since epoch; null for API keys (they are revoked, not expired). */
  expiresAt: z.number().int().nullable(),
});
export type TokenValidationResponse = z.infer<typeof tokenValidationResponseSchema>;

export const profileResponseSchema = z.object({
  kind: z.enum(['user', 'api_key']),
  userId: z.string(),
  organizationId: z.string(),
  roles: z.array(z.string()),
  scopes: z.array(z.string()),
  email: z.string().optional(),
  name: z.string().nullable().optional(),
  expiresAt: z.number().int().optional(),
});

// ---------- administration ----------

export const createOrganizationBodySchema = z.strictObject({ id: organizationIdSchema, name: z.string().min(1).max(200) }).superRefine(refineStorable);
export const addMemberBodySchema = z.strictObject({
  /** An existing user's email; with `password`, a new user is created. */
  email,
  password: password.optional(),
  name: z.string().min(1).max(200).optional(),
  roles: z.array(roleSchema).max(16).default(['member']),
}).superRefine(refineStorable);
export const updateMemberBodySchema = z.strictObject({ roles: z.array(roleSchema).max(16) }).superRefine(refineStorable);
export const createApiKeyBodySchema = z.strictObject({
  name: z.string().min(1).max(200),
  scopes: z.array(apiKeyScopeSchema).min(1).max(4),
}).superRefine(refineStorable);
export const createdApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(apiKeyScopeSchema),
  /** The key itself. Shown once: only its hash is stored. */
  key: z.string(),
  createdAt: z.string(),
});

// ---------- channels ----------

/**
 * Who may do what on a channel. Each list holds role names, `*` (every member of the
 * organisation) or `api_key` (API keys that have the action's scope). An action without a
 * list follows the default policy (docs/permissions.md).
 */
const permissionList = z.array(z.union([roleSchema, z.literal('*'), z.literal('api_key')])).max(32);
export const channelPermissionsSchema = z.strictObject({
  subscribe: permissionList.optional(),
  publish: permissionList.optional(),
  history: permissionList.optional(),
  presence: permissionList.optional(),
});
export type ChannelPermissions = z.infer<typeof channelPermissionsSchema>;

/**
 * How an acknowledged subscription of this channel redelivers (ADR 0038); each field left out
 * takes the server's ACK_* setting. Delivery n+1 follows delivery n after
 * ackTimeoutMs + random(0, min(capMs, baseMs · factor^(n-1))); after maxDeliveries the event is
 * dead-lettered.
 */
export const deliveryPolicySchema = z
  .strictObject({
    ackTimeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    baseMs: z.number().int().min(0).max(3_600_000).optional(),
    factor: z.number().min(1).max(10).optional(),
    capMs: z.number().int().min(0).max(86_400_000).optional(),
    maxDeliveries: z.number().int().min(1).max(100).optional(),
    window: z.number().int().min(1).max(1_000).optional(),
    /** Queue groups: a member's unacked event goes to another member after this long without a delivery (ADR 0042). */
    groupIdleMs: z.number().int().min(100).max(86_400_000).optional(),
  })
  .refine((p) => p.capMs === undefined || p.baseMs === undefined || p.capMs >= p.baseMs, { message: 'capMs must be at least baseMs', path: ['capMs'] });
export type DeliveryPolicyInput = z.infer<typeof deliveryPolicySchema>;

const channelSettingsFields = {
  permissions: channelPermissionsSchema.optional(),
  historySize: z.number().int().min(0).max(1_000_000).nullable().optional(),
  historyTtlMs: z.number().int().positive().nullable().optional(),
  acknowledgmentRequired: z.boolean().optional(),
  /** Redelivery of acknowledged subscriptions; null: the server's defaults. */
  deliveryPolicy: deliveryPolicySchema.nullable().optional(),
  persistEvents: z.boolean().optional(),
  auditPublishMode: z.enum(['all', 'sampled', 'none']).optional(),
  auditSampleRate: z.number().min(0).max(1).optional(),
  /** Publishes must carry an encrypted envelope (`encryptedPayloadSchema`); plaintext is refused. */
  encrypted: z.boolean().optional(),
  /** Presence (members, presence.join/leave): true on, false off, null the default (on for `room:` channels only). */
  presence: z.boolean().nullable().optional(),
};
export const createChannelBodySchema = z.strictObject({ name: channelNameSchema, ...channelSettingsFields }).superRefine(refineStorable);
export const updateChannelBodySchema = z.strictObject(channelSettingsFields).superRefine(refineStorable);

// ---------- queries ----------

const limit = z.coerce.number().int().min(1).max(1000).optional();
const isoTime = z.iso.datetime({ offset: true });

export const listConnectionsQuerySchema = z.strictObject({
  status: connectionStatusSchema.optional(),
  clientType: clientTypeSchema.optional(),
  userId: z.string().max(200).optional(),
  limit,
  cursor: z.string().max(500).optional(),
}).superRefine(refineStorable);

export const auditQuerySchema = z.strictObject({
  actorId: z.string().max(200).optional(),
  action: z.string().max(100).optional(),
  channel: z.string().max(200).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  limit,
  cursor: z.string().max(500).optional(),
}).superRefine(refineStorable);

export const complianceReportQuerySchema = z.strictObject({
  from: isoTime,
  to: isoTime,
  format: z.enum(['json', 'csv']).default('json'),
}).superRefine(refineStorable);

export const logAuditEventBodySchema = z.strictObject({
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'action must be lower-case words joined by . _ -'),
  channel: channelNameSchema.optional(),
  target: z.string().max(200).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).default('success'),
  details: z.record(z.string(), z.unknown()).optional(),
}).superRefine(refineStorable);

/** History by time range (served from the archive where the broker's retention no longer reaches). */
export const historyTimeRangeSchema = z.object({ from: isoTime.optional(), to: isoTime.optional() });

// ---------- administration: more queries, and the views the API answers with ----------

const cursor = z.string().max(500).optional();
/** `limit` and `cursor` (the `nextCursor` of the previous page) of a paginated list. */
export const pageQuerySchema = z.strictObject({ limit, cursor }).superRefine(refineStorable);
export const listChannelsQuerySchema = z.strictObject({ type: channelTypeSchema.optional(), limit, cursor }).superRefine(refineStorable);
export const updateOrganizationBodySchema = z.strictObject({ name: z.string().min(1).max(200) }).superRefine(refineStorable);
export const auditSummaryQuerySchema = z.strictObject({ from: isoTime.optional(), to: isoTime.optional() }).superRefine(refineStorable);

/** One page of a list; pass `nextCursor` back as `cursor` for the next page (null: this was the last). */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

const timestamp = z.string().describe('ISO 8601 instant');
export const organizationSchema = z.object({ id: z.string(), name: z.string(), createdAt: timestamp });
export const memberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  roles: z.array(z.string()),
  joinedAt: timestamp,
  disabled: z.boolean(),
});
/** An API key as listed: never the key or its hash. `prefix` is the non-secret part after `apix_`. */
export const apiKeySummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  createdByUserId: z.string().nullable(),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
  lastUsedAt: timestamp.nullable(),
});
export const channelConfigSchema = z.object({
  name: z.string(),
  type: channelTypeSchema,
  permissions: channelPermissionsSchema,
  /** Approximate subscribers across the cluster, kept current by the server. */
  subscribers: z.number().int(),
  historySize: z.number().int().nullable(),
  historyTtlMs: z.number().int().nullable(),
  acknowledgmentRequired: z.boolean(),
  /** The channel's own redelivery values (null: the server's ACK_* defaults). */
  deliveryPolicy: deliveryPolicySchema.nullable(),
  persistEvents: z.boolean(),
  auditPublishMode: z.enum(['all', 'sampled', 'none']),
  auditSampleRate: z.number(),
  encrypted: z.boolean(),
  /** As stored: null means the namespace's default (rooms carry presence, others do not). */
  presence: z.boolean().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const connectionInfoSchema = z.object({
  sessionId: z.string(),
  userId: z.string().nullable(),
  clientType: clientTypeSchema,
  status: connectionStatusSchema,
  channels: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  nodeId: z.string().nullable(),
  connectedAt: timestamp,
  lastHeartbeat: timestamp,
  disconnectedAt: timestamp.nullable(),
});
export const auditEntrySchema = z.object({
  sequence: z.number().int(),
  actorType: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  channel: z.string().nullable(),
  target: z.string().nullable(),
  outcome: z.enum(['success', 'failure', 'denied']),
  details: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
});
export const auditSummarySchema = z.object({
  total: z.number().int(),
  byAction: z.record(z.string(), z.number().int()),
  byOutcome: z.record(z.string(), z.number().int()),
  byActionAndOutcome: z.array(z.object({ action: z.string(), outcome: z.string(), count: z.number().int() })),
});
export const complianceReportSchema = z.object({
  organizationId: z.string(),
  from: timestamp,
  to: timestamp,
  generatedAt: timestamp,
  summary: auditSummarySchema,
  entries: z.array(auditEntrySchema),
});
