import type {
  apiKeySummarySchema,
  auditEntrySchema,
  channelConfigSchema,
  connectionInfoSchema,
  memberSchema,
  organizationSchema,
} from '@apix/protocol';
import type { z } from 'zod';
import { toChannelSettings } from '../channels/channel-settings.js';
import type { ApiKeySummary } from '../storage/api-key-repository.js';
import type { OrganizationMember } from '../storage/membership-repository.js';
import type { AuditLogRow, ChannelRow, ConnectionRow, OrganizationRow } from '../storage/schema.js';

/**
 * Storage rows as the API shows them: ISO timestamps, no internal ids, never a secret or a
 * hash. One mapper per resource so every endpoint shows a resource the same way.
 */
export type OrganizationView = z.infer<typeof organizationSchema>;
export type MemberView = z.infer<typeof memberSchema>;
export type ApiKeyView = z.infer<typeof apiKeySummarySchema>;
export type ChannelView = z.infer<typeof channelConfigSchema>;
export type ConnectionView = z.infer<typeof connectionInfoSchema>;
export type AuditEntryView = z.infer<typeof auditEntrySchema>;

export interface Page<T> {
  readonly items: T[];
  /** Pass back as `cursor`; null when this page is the last. */
  readonly nextCursor: string | null;
}

const iso = (date: Date): string => date.toISOString();
const isoOrNull = (date: Date | null): string | null => (date === null ? null : date.toISOString());

export function organizationView(row: OrganizationRow): OrganizationView {
  return { id: row.id, name: row.name, createdAt: iso(row.createdAt) };
}

export function memberView(member: OrganizationMember): MemberView {
  return {
    userId: member.userId,
    email: member.email,
    name: member.displayName,
    roles: member.roles,
    joinedAt: iso(member.joinedAt),
    disabled: member.disabledAt !== null,
  };
}

export function apiKeyView(key: ApiKeySummary): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    prefix: key.keyPrefix,
    scopes: key.scopes,
    createdByUserId: key.createdByUserId,
    createdAt: iso(key.createdAt),
    revokedAt: isoOrNull(key.revokedAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
  };
}

export function channelView(row: ChannelRow): ChannelView {
  const settings = toChannelSettings(row);
  return {
    name: row.name,
    type: row.type,
    // What the authoriser enforces: a stored list that no longer parses shows as "nobody".
    permissions: settings.permissions ?? {},
    subscribers: row.subscribers,
    historySize: row.historySize,
    historyTtlMs: row.historyTtlMs,
    acknowledgmentRequired: row.acknowledgmentRequired,
    deliveryPolicy: settings.deliveryPolicy ?? null,
    persistEvents: row.persistEvents,
    auditPublishMode: row.auditPublishMode,
    auditSampleRate: row.auditSampleRate,
    encrypted: row.encrypted,
    presence: row.presence,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export function connectionView(row: ConnectionRow): ConnectionView {
  return {
    sessionId: row.sessionId,
    userId: row.userId,
    clientType: row.clientType,
    status: row.status,
    channels: row.channels,
    metadata: row.metadata,
    nodeId: row.nodeId,
    connectedAt: iso(row.connectedAt),
    lastHeartbeat: iso(row.lastHeartbeat),
    disconnectedAt: isoOrNull(row.disconnectedAt),
  };
}

export function auditEntryView(row: AuditLogRow): AuditEntryView {
  return {
    sequence: row.sequence,
    actorType: row.actorType,
    actorId: row.actorId,
    action: row.action,
    channel: row.channel,
    target: row.target,
    outcome: row.outcome,
    details: row.details,
    createdAt: iso(row.createdAt),
  };
}
