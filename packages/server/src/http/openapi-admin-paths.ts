import {
  addMemberBodySchema,
  apiKeySummarySchema,
  auditEntrySchema,
  auditQuerySchema,
  auditSummaryQuerySchema,
  auditSummarySchema,
  channelConfigSchema,
  complianceReportQuerySchema,
  complianceReportSchema,
  connectionInfoSchema,
  createApiKeyBodySchema,
  createChannelBodySchema,
  createdApiKeySchema,
  createOrganizationBodySchema,
  listChannelsQuerySchema,
  listConnectionsQuerySchema,
  logAuditEventBodySchema,
  memberSchema,
  organizationSchema,
  pageOf,
  pageQuerySchema,
  updateChannelBodySchema,
  updateMemberBodySchema,
  updateOrganizationBodySchema,
} from '@apix/protocol';
import { errorResponse, jsonBody, jsonSchema, okResponse, queryParameters } from './openapi-schema.js';

/**
 * OpenAPI 3.0 path items of the administration API (`/api/v1/admin/*`, channel
 * configuration, connections, audit), generated from the schemas the controllers validate
 * with. They refer to `#/components/schemas/Error` and the `bearer` security scheme of the
 * document they are merged into (http/openapi-document.ts). Prose: docs/admin-api.md.
 */

const noContent = (description: string) => ({ description });

const pathParameter = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const orgParam = pathParameter('org', 'Organisation id. Another organisation than yours answers 404, exactly like one that does not exist.');
const userIdParam = pathParameter('userId', "The member's user id.");
const keyIdParam = pathParameter('keyId', 'The API key id (`id` in the listing, not the key).');
const channelParam = pathParameter('channel', 'Channel name, relative to your organisation (e.g. `agent:support-bot`).');

const security = [{ bearer: [] }];
const common = {
  400: errorResponse('`APIX_ERR_INVALID_REQUEST`: the body or query does not match its schema (`details.issues` name the fields)'),
  401: errorResponse('`APIX_ERR_NOT_AUTHENTICATED` / `APIX_ERR_AUTH_FAILED`: no or an invalid credential'),
  403: errorResponse('`APIX_ERR_FORBIDDEN`: you may not perform this action (or your access was revoked)'),
};
const adminOnly = { ...common, 404: errorResponse('`APIX_ERR_NOT_FOUND`: no such organisation (or not yours), member or key') };
const audited = { 503: errorResponse('`APIX_ERR_UNAVAILABLE`: the audit trail cannot record the action right now; nothing was changed. Retry later.') };

const adminTags = ['administration'];
const channelTags = ['channels'];

export const adminOpenApiPaths: Record<string, Record<string, unknown>> = {
  '/api/v1/admin/organizations': {
    post: {
      tags: adminTags,
      summary: 'Create an organisation (platform admins only)',
      description: 'Only a token with the `platform-admin` role (minted by the operator, e.g. `apix token --roles platform-admin`) may create organisations. Add its first admin with `POST …/members`.',
      security,
      requestBody: jsonBody(createOrganizationBodySchema),
      responses: { 201: okResponse('Created', organizationSchema), ...common, 409: errorResponse('`APIX_ERR_CONFLICT`: the id is taken'), ...audited },
    },
  },
  '/api/v1/admin/organizations/{org}': {
    get: { tags: adminTags, summary: 'Read an organisation', security, parameters: [orgParam], responses: { 200: okResponse('The organisation', organizationSchema), ...adminOnly } },
    patch: {
      tags: adminTags,
      summary: 'Rename an organisation',
      security,
      parameters: [orgParam],
      requestBody: jsonBody(updateOrganizationBodySchema),
      responses: { 200: okResponse('Renamed', organizationSchema), ...adminOnly, ...audited },
    },
  },
  '/api/v1/admin/organizations/{org}/members': {
    get: {
      tags: adminTags,
      summary: 'List members, a page at a time (by user id)',
      security,
      parameters: [orgParam, ...queryParameters(pageQuerySchema)],
      responses: { 200: okResponse('A page of members', pageOf(memberSchema)), ...adminOnly },
    },
    post: {
      tags: adminTags,
      summary: 'Add a member: an existing user by email, or a new user when `password` is given',
      description:
        'An existing user keeps their password and name. `platform-admin` cannot be given (403). ' +
        'Unknown email without password: 404; email taken but a password given, or already a member: 409.',
      security,
      parameters: [orgParam],
      requestBody: jsonBody(addMemberBodySchema),
      responses: { 201: okResponse('Added', memberSchema), ...adminOnly, 409: errorResponse('`APIX_ERR_CONFLICT`: already a member, or the email is taken'), ...audited },
    },
  },
  '/api/v1/admin/organizations/{org}/members/{userId}': {
    patch: {
      tags: adminTags,
      summary: "Replace a member's roles",
      description: 'Takes effect at once on this node (open connections are re-checked before the answer) and within the permission cache TTL on others.',
      security,
      parameters: [orgParam, userIdParam],
      requestBody: jsonBody(updateMemberBodySchema),
      responses: { 200: okResponse('Updated', memberSchema), ...adminOnly, 409: errorResponse('`APIX_ERR_CONFLICT`: this would leave the organisation without an admin'), ...audited },
    },
    delete: {
      tags: adminTags,
      summary: 'Remove a member',
      description: "The member's open WebSockets on this node are closed (4501) before the answer; they receive nothing published afterwards.",
      security,
      parameters: [orgParam, userIdParam],
      responses: { 204: noContent('Removed'), ...adminOnly, 409: errorResponse('`APIX_ERR_CONFLICT`: this would leave the organisation without an admin'), ...audited },
    },
  },
  '/api/v1/admin/organizations/{org}/api-keys': {
    get: {
      tags: adminTags,
      summary: 'List API keys (never the key or its hash), newest first, revoked ones included',
      security,
      parameters: [orgParam],
      responses: { 200: okResponse('The keys', pageOf(apiKeySummarySchema)), ...adminOnly },
    },
    post: {
      tags: adminTags,
      summary: 'Create an API key; the key is in this response only',
      security,
      parameters: [orgParam],
      requestBody: jsonBody(createApiKeyBodySchema),
      responses: { 201: okResponse('Created. Store `key` now: only its hash is kept.', createdApiKeySchema), ...adminOnly, ...audited },
    },
  },
  '/api/v1/admin/organizations/{org}/api-keys/{keyId}': {
    delete: {
      tags: adminTags,
      summary: 'Revoke an API key',
      description: 'Refused over HTTP at once on this node; its open WebSockets are closed with 4500. Other nodes follow within the permission cache TTL.',
      security,
      parameters: [orgParam, keyIdParam],
      responses: { 204: noContent('Revoked'), ...adminOnly, ...audited },
    },
  },
  '/api/v1/channels': {
    get: {
      tags: channelTags,
      summary: "List your organisation's configured channels, a page at a time (by name)",
      description: 'Admins see every configured channel; other members those they may subscribe to.',
      security,
      parameters: queryParameters(listChannelsQuerySchema),
      responses: { 200: okResponse('A page of channels', pageOf(channelConfigSchema)), ...common },
    },
    post: {
      tags: channelTags,
      summary: 'Configure a channel (admins)',
      description: 'The type follows from the name. A malformed name is `APIX_ERR_CHANNEL_INVALID` (400).',
      security,
      requestBody: jsonBody(createChannelBodySchema),
      responses: { 201: okResponse('Created', channelConfigSchema), ...common, 409: errorResponse('`APIX_ERR_CONFLICT`: already configured'), ...audited },
    },
  },
  '/api/v1/channels/{channel}': {
    get: {
      tags: channelTags,
      summary: "A channel's configuration and subscriber count",
      security,
      parameters: [channelParam],
      responses: { 200: okResponse('The channel', channelConfigSchema), ...common, 404: errorResponse('`APIX_ERR_NOT_FOUND`: not configured, or not visible to you') },
    },
    patch: {
      tags: channelTags,
      summary: "Change a channel's settings (admins); fields left out keep their values",
      security,
      parameters: [channelParam],
      requestBody: jsonBody(updateChannelBodySchema),
      responses: { 200: okResponse('Updated', channelConfigSchema), ...common, 404: errorResponse('`APIX_ERR_NOT_FOUND`: not configured'), ...audited },
    },
    delete: {
      tags: channelTags,
      summary: "Delete a channel's configuration (admins): the channel returns to the default policy",
      security,
      parameters: [channelParam],
      responses: { 204: noContent('Deleted'), ...common, 404: errorResponse('`APIX_ERR_NOT_FOUND`: not configured'), ...audited },
    },
  },
  '/api/v1/connections': {
    get: {
      tags: ['connections'],
      summary: "Your organisation's connections across the cluster, a page at a time (by session id)",
      description: "Admins see every connection; others only their own (asking for another user's is 403).",
      security,
      parameters: queryParameters(listConnectionsQuerySchema),
      responses: { 200: okResponse('A page of connections', pageOf(connectionInfoSchema)), ...common },
    },
  },
  '/api/v1/audit/logs': {
    get: {
      tags: ['audit'],
      summary: "Your organisation's audit rows, newest first (admins, `admin`-scoped keys)",
      security,
      parameters: queryParameters(auditQuerySchema),
      responses: { 200: okResponse('A page of audit rows', pageOf(auditEntrySchema)), ...common },
    },
  },
  '/api/v1/audit/summary': {
    get: {
      tags: ['audit'],
      summary: 'Counts by action and outcome (admins, `admin`-scoped keys)',
      security,
      parameters: queryParameters(auditSummaryQuerySchema),
      responses: { 200: okResponse('The summary', auditSummarySchema), ...common },
    },
  },
  '/api/v1/audit/compliance-report': {
    get: {
      tags: ['audit'],
      summary: 'Every audit row of [from, to), oldest first, as JSON or CSV (admins, `admin`-scoped keys)',
      description:
        'CSV: RFC 4180 with a header row; `details` is a JSON cell; text cells starting with = + - @ are prefixed with `\'`. ' +
        'At most 100,000 rows per report (a wider range is 400: split it). Each export is itself audited (`admin.audit.exported`).',
      security,
      parameters: queryParameters(complianceReportQuerySchema),
      responses: {
        200: {
          description: 'The report',
          content: { 'application/json': { schema: jsonSchema(complianceReportSchema, 'output') }, 'text/csv': { schema: { type: 'string' } } },
        },
        ...common,
        ...audited,
      },
    },
  },
  '/api/v1/audit/log-event': {
    post: {
      tags: ['audit'],
      summary: "Record an application event in your organisation's audit trail (any member or API key)",
      description: "The actor is your credential. Actions of APIX's own families (`admin.`, `auth.`, `connection.`, `subscription.`, `publish`, `message.`, `rate_limited`) are refused (400).",
      security,
      requestBody: jsonBody(logAuditEventBodySchema),
      responses: {
        202: { description: 'Queued; written within about a second', content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string', enum: ['queued'] } } } } } },
        ...common,
        503: errorResponse('`APIX_ERR_UNAVAILABLE`: the audit trail is saturated; retry later'),
      },
    },
  },
};
