import type { z } from 'zod';
import type { apiKeySummarySchema, auditEntrySchema, auditSummarySchema, channelConfigSchema, createdApiKeySchema, memberSchema } from '@apix/protocol';

/** Response types of the public API, from the protocol's schemas (types only: nothing of zod is bundled for them). */
export type ChannelConfig = z.infer<typeof channelConfigSchema>;
export type Member = z.infer<typeof memberSchema>;
export type ApiKeySummary = z.infer<typeof apiKeySummarySchema>;
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export type AuditSummary = z.infer<typeof auditSummarySchema>;
export type Page<T> = { items: T[]; nextCursor: string | null };
