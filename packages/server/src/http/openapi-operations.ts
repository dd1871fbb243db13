import {
  addMemberBodySchema,
  createApiKeyBodySchema,
  createChannelBodySchema,
  createOrganizationBodySchema,
  httpPublishBodySchema,
  logAuditEventBodySchema,
  loginBodySchema,
  logoutBodySchema,
  refreshBodySchema,
  registerBodySchema,
  updateChannelBodySchema,
  updateMemberBodySchema,
  updateOrganizationBodySchema,
} from '@apix/protocol';
import type { z } from 'zod';

/**
 * What the path tables leave to one place: each operation's `operationId`, whether it is
 * public (`security: []`), and a real request example, so Swagger UI's "Try it out" sends a
 * request the server accepts instead of `"string"` everywhere. Every example is parsed with
 * the schema the controller validates with when the document is built, so a wrong example
 * fails the build (and the test that lints the document), never a user.
 */
interface OperationInfo {
  readonly operationId: string;
  readonly public?: true;
  readonly example?: { readonly schema: z.ZodType; readonly value: unknown };
}

const example = <S extends z.ZodType>(schema: S, value: z.input<S>) => ({ schema, value });

export const OPERATIONS: Readonly<Record<string, OperationInfo>> = {
  'POST /api/v1/channels/{channel}/events': {
    operationId: 'publishEvent',
    example: example(httpPublishBodySchema, {
      type: 'agent_status_update',
      payload: { agentId: 'support-bot', status: 'running', message: 'answering ticket 4711' },
      metadata: { correlation_id: 'ticket-4711' },
      idempotencyKey: 'ticket-4711-status-1',
    }),
  },
  'GET /api/v1/channels/{channel}/history': { operationId: 'readHistory' },
  'GET /api/v1/channels/{channel}/dead-letters': { operationId: 'listDeadLetters' },
  'POST /api/v1/channels/{channel}/dead-letters/{id}/redeliver': { operationId: 'redeliverDeadLetter' },
  'GET /api/v1/monitoring/latency/stats': { operationId: 'getLatencyStats' },
  'GET /api/v1/monitoring/alerts': { operationId: 'listAlerts' },
  'GET /api/v1/monitoring/dashboard': { operationId: 'getMonitoringDashboard' },
  'GET /api/v1/monitoring/health': { operationId: 'getComponentHealth' },
  'GET /api/v1/monitoring/connections': { operationId: 'listLiveConnections' },
  'DELETE /api/v1/monitoring/connections/{connectionId}': { operationId: 'disconnectLiveConnection' },
  'GET /metrics': { operationId: 'getMetrics' },
  'GET /api/v1/admin/organizations/{org}/quotas': { operationId: 'getOrganizationQuotas' },
  'PUT /api/v1/admin/organizations/{org}/quotas': { operationId: 'setOrganizationQuotas' },
  'GET /api/v1/status': { operationId: 'getStatus', public: true },
  'GET /api/v1': { operationId: 'getApiRoot', public: true },
  'GET /health/live': { operationId: 'checkLiveness', public: true },
  'GET /health/ready': { operationId: 'checkReadiness', public: true },
  'GET /.well-known/jwks.json': { operationId: 'getJwks', public: true },
  'POST /api/v1/auth/register': {
    operationId: 'register',
    public: true,
    example: example(registerBodySchema, {
      email: 'ada@example.com',
      password: 'correct horse battery staple',
      name: 'Ada Lovelace',
      organization: { name: 'Acme Inc.' },
    }),
  },
  'POST /api/v1/auth/login': {
    operationId: 'login',
    public: true,
    example: example(loginBodySchema, { email: 'ada@example.com', password: 'correct horse battery staple', organizationId: 'acme' }),
  },
  'POST /api/v1/auth/refresh': {
    operationId: 'refreshTokens',
    public: true,
    example: example(refreshBodySchema, { refreshToken: 'apixrt_Q2xvdWRzIGFyZSBqdXN0IG90aGVyIHBlb3BsZXMgY29tcHV0ZXJz' }),
  },
  'POST /api/v1/auth/logout': {
    operationId: 'logout',
    public: true,
    example: example(logoutBodySchema, { refreshToken: 'apixrt_Q2xvdWRzIGFyZSBqdXN0IG90aGVyIHBlb3BsZXMgY29tcHV0ZXJz' }),
  },
  'GET /api/v1/auth/profile': { operationId: 'getProfile' },
  'GET /api/v1/auth/validate': { operationId: 'validateCredential' },
  'POST /api/v1/admin/organizations': {
    operationId: 'createOrganization',
    example: example(createOrganizationBodySchema, { id: 'globex', name: 'Globex Corporation' }),
  },
  'GET /api/v1/admin/organizations/{org}': { operationId: 'getOrganization' },
  'PATCH /api/v1/admin/organizations/{org}': {
    operationId: 'renameOrganization',
    example: example(updateOrganizationBodySchema, { name: 'Acme Corporation' }),
  },
  'GET /api/v1/admin/organizations/{org}/members': { operationId: 'listMembers' },
  'POST /api/v1/admin/organizations/{org}/members': {
    operationId: 'addMember',
    example: example(addMemberBodySchema, { email: 'grace@example.com', password: 'another long password', name: 'Grace Hopper', roles: ['member'] }),
  },
  'PATCH /api/v1/admin/organizations/{org}/members/{userId}': {
    operationId: 'setMemberRoles',
    example: example(updateMemberBodySchema, { roles: ['member', 'operator'] }),
  },
  'DELETE /api/v1/admin/organizations/{org}/members/{userId}': { operationId: 'removeMember' },
  'GET /api/v1/admin/organizations/{org}/api-keys': { operationId: 'listApiKeys' },
  'POST /api/v1/admin/organizations/{org}/api-keys': {
    operationId: 'createApiKey',
    example: example(createApiKeyBodySchema, { name: 'billing service', scopes: ['publish', 'history'] }),
  },
  'DELETE /api/v1/admin/organizations/{org}/api-keys/{keyId}': { operationId: 'revokeApiKey' },
  'GET /api/v1/channels': { operationId: 'listChannels' },
  'POST /api/v1/channels': {
    operationId: 'createChannel',
    example: example(createChannelBodySchema, {
      name: 'agent:support-bot',
      permissions: { subscribe: ['*'], publish: ['admin', 'api_key'] },
      historySize: 1000,
      persistEvents: true,
    }),
  },
  'GET /api/v1/channels/{channel}': { operationId: 'getChannel' },
  'PATCH /api/v1/channels/{channel}': {
    operationId: 'updateChannel',
    example: example(updateChannelBodySchema, { historySize: 5000, auditPublishMode: 'sampled', auditSampleRate: 0.1 }),
  },
  'DELETE /api/v1/channels/{channel}': { operationId: 'deleteChannel' },
  'GET /api/v1/connections': { operationId: 'listConnections' },
  'GET /api/v1/audit/logs': { operationId: 'listAuditLogs' },
  'GET /api/v1/audit/summary': { operationId: 'getAuditSummary' },
  'GET /api/v1/audit/compliance-report': { operationId: 'getComplianceReport' },
  'POST /api/v1/audit/log-event': {
    operationId: 'logAuditEvent',
    example: example(logAuditEventBodySchema, { action: 'ticket.escalated', channel: 'agent:support-bot', target: 'ticket-4711', details: { level: 2 } }),
  },
};

/** Examples for path parameters, by name. */
const PATH_PARAMETER_EXAMPLES: Readonly<Record<string, string>> = {
  channel: 'agent:support-bot',
  org: 'acme',
  userId: 'usr_5b0c2f1e',
  keyId: 'k3y1d0f3x4mpl3',
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/**
 * Applies the table to the document: operationIds, `security: []` on public operations (the
 * document's default is the bearer scheme), request and parameter examples. Throws if an
 * operation is missing from the table or the table names one that does not exist, so a new
 * route cannot be left undocumented.
 */
export function applyOperationTable(paths: Record<string, Record<string, Record<string, unknown>>>): void {
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const info = OPERATIONS[key];
      if (!info) throw new Error(`OpenAPI: ${key} has no entry in OPERATIONS (operationId, public?, example)`);
      seen.add(key);
      operation.operationId = info.operationId;
      if (info.public) operation.security = [];
      else if (!operation.security) operation.security = [{ bearer: [] }];
      if (info.example) {
        const parsed = info.example.schema.safeParse(info.example.value);
        if (!parsed.success) throw new Error(`OpenAPI: the example of ${key} does not pass its schema: ${parsed.error.message}`);
        const content = (operation.requestBody as { content?: Record<string, Record<string, unknown>> } | undefined)?.content?.['application/json'];
        if (!content) throw new Error(`OpenAPI: ${key} has an example but no JSON request body`);
        content.example = info.example.value;
      }
      for (const parameter of (operation.parameters as Array<Record<string, unknown>> | undefined) ?? []) {
        const name = parameter.name as string;
        if (parameter.in === 'path' && PATH_PARAMETER_EXAMPLES[name] !== undefined) parameter.example = PATH_PARAMETER_EXAMPLES[name];
      }
    }
  }
  const stale = Object.keys(OPERATIONS).filter((key) => !seen.has(key));
  if (stale.length > 0) throw new Error(`OpenAPI: OPERATIONS names operations that do not exist: ${stale.join(', ')}`);
}
