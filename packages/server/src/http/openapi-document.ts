import {
  ErrorCodes,
  httpErrorResponseSchema,
  httpHistoryQuerySchema,
  httpPublishBodySchema,
  historyResultSchema,
  deadLetterPageSchema,
  publishResultSchema,
  statusResponseSchema,
} from '@apix/protocol';
import { errorResponse, jsonSchema } from './openapi-schema.js';
import { adminOpenApiPaths } from './openapi-admin-paths.js';
import { authOpenApiPaths } from './openapi-auth-paths.js';
import { applyOperationTable } from './openapi-operations.js';
import { monitoringOpenApiPaths } from '../monitoring/openapi-monitoring-paths.js';
import { quotasOpenApiPaths } from './quotas.controller.js';

const channelParam = {
  name: 'channel',
  in: 'path',
  required: true,
  description: 'Channel name, relative to your organisation (e.g. `agent:support-bot`). Grammar: docs/protocol.md.',
  schema: { type: 'string' },
};

/**
 * The OpenAPI document, generated from the same zod schemas the server validates with, so
 * the docs cannot drift from the checks.
 */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const historyQuery = jsonSchema(httpHistoryQuerySchema, 'input') as { properties?: Record<string, Record<string, unknown>> };
  const paths = buildPaths(historyQuery);
  applyOperationTable(paths);
  return {
    openapi: '3.0.3',
    info: {
      title: 'APIX HTTP API',
      version,
      description:
        'Publish and read channel history over HTTP. Authenticate with `Authorization: Bearer <RS256 JWT>` ' +
        '(an access token from `/api/v1/auth/login`, the dev token printed at start-up, or `apix token`) or ' +
        '`Authorization: Bearer apix_…` (an API key). Real-time delivery is over the WebSocket at `/ws` (docs/protocol.md). ' +
        'Errors are `{ "error": { "code", "message", "retryable" } }`; codes: ' +
        Object.values(ErrorCodes).map((e) => `\`${e.code}\` (${e.httpStatus})`).join(', ') + '.',
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    },
    // Relative: "Try it out" talks to the server that serves these docs, wherever it runs.
    servers: [{ url: '/', description: 'The APIX server serving this document' }],
    // Every operation needs a credential unless it says `security: []` (the public ones: health, JWKS, sign-in).
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or apix_ API key' } },
      schemas: {
        Error: jsonSchema(httpErrorResponseSchema),
        PublishBody: jsonSchema(httpPublishBodySchema, 'input'),
        PublishResult: jsonSchema(publishResultSchema),
        HistoryResult: jsonSchema(historyResultSchema),
        DeadLetterPage: jsonSchema(deadLetterPageSchema),
        Status: jsonSchema(statusResponseSchema),
        ApiRoot: {
          type: 'object',
          required: ['name', 'version', 'websocket', 'docs', 'openapi', 'status'],
          properties: {
            name: { type: 'string', example: 'apix' },
            version: { type: 'string', example: version },
            websocket: { type: 'string', example: '/ws' },
            docs: { type: 'string', example: '/api/docs' },
            openapi: { type: 'string', example: '/api/docs/openapi.json' },
            status: { type: 'string', example: '/api/v1/status' },
          },
        },
        Health: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok', 'ready'] } } },
        Jwks: {
          type: 'object',
          required: ['keys'],
          description: 'RFC 7517 JSON Web Key Set: the RS256 public keys of APIX-issued tokens',
          properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { kty: { type: 'string', example: 'RSA' }, kid: { type: 'string' }, alg: { type: 'string', example: 'RS256' }, n: { type: 'string' }, e: { type: 'string', example: 'AQAB' } } } } },
        },
      },
    },
    paths,
  };
}

const json = (ref: string, description: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });

function buildPaths(historyQuery: { properties?: Record<string, Record<string, unknown>> }): Record<string, Record<string, Record<string, unknown>>> {
  return {
      '/api/v1/channels/{channel}/events': {
        post: {
          summary: 'Publish an event to a channel',
          security: [{ bearer: [] }],
          parameters: [channelParam],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PublishBody' } } } },
          responses: {
            201: { description: 'Appended; the position in the channel stream', content: { 'application/json': { schema: { $ref: '#/components/schemas/PublishResult' } } } },
            400: errorResponse('Malformed channel or event'),
            401: errorResponse('Missing, invalid or expired token'),
            403: errorResponse('Channel does not exist or is not yours to publish to'),
            413: errorResponse('Body over the size limit'),
            503: errorResponse('Event store unavailable; retry with the same idempotencyKey'),
          },
        },
      },
      '/api/v1/channels/{channel}/history': {
        get: {
          summary: "Read a channel's history",
          security: [{ bearer: [] }],
          parameters: [
            channelParam,
            ...Object.entries(historyQuery.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
          ],
          responses: {
            200: { description: 'Publications after the position (or the latest)', content: { 'application/json': { schema: { $ref: '#/components/schemas/HistoryResult' } } } },
            400: errorResponse('Malformed channel or position'),
            401: errorResponse('Missing, invalid or expired token'),
            403: errorResponse('Channel does not exist or is not yours to read'),
          },
        },
      },
      '/api/v1/channels/{channel}/dead-letters': {
        get: {
          summary: "List a channel's dead letters (events of acknowledged subscriptions that ran out of deliveries), oldest first",
          security: [{ bearer: [] }],
          parameters: [
            channelParam,
            { name: 'after', in: 'query', required: false, schema: { type: 'string' }, description: "A page's `next`: letters after it" },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
          ],
          responses: {
            200: { description: 'A page of dead letters', content: { 'application/json': { schema: { $ref: '#/components/schemas/DeadLetterPage' } } } },
            400: errorResponse('Malformed channel or cursor'),
            401: errorResponse('Missing, invalid or expired token'),
            403: errorResponse('Channel does not exist or is not yours to read (needs the history permission)'),
          },
        },
      },
      '/api/v1/channels/{channel}/dead-letters/{id}/redeliver': {
        post: {
          summary: 'Hand a dead letter back to the subscription group it came from, which receives it again (its delivery count carried on)',
          security: [{ bearer: [] }],
          parameters: [channelParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The letter id, as listed' }],
          responses: {
            200: { description: 'Redelivered', content: { 'application/json': { schema: { type: 'object', required: ['channel', 'id', 'offset', 'redelivered'], properties: { channel: { type: 'string' }, id: { type: 'string' }, offset: { type: 'integer' }, redelivered: { type: 'boolean' } } } } } },
            400: errorResponse('Malformed channel'),
            401: errorResponse('Missing, invalid or expired token'),
            403: errorResponse('Channel does not exist or is not yours to publish to'),
            404: errorResponse('No such dead letter on this channel'),
          },
        },
      },
      '/api/v1/status': { get: { summary: 'Node status: `status` and `version` for anyone; node id, engine, uptime and counts with a platform admin token', responses: { 200: json('Status', 'Status') } } },
      '/api/v1': { get: { summary: 'API root: links to the WebSocket endpoint and docs', responses: { 200: json('ApiRoot', 'Links') } } },
      '/health/live': { get: { summary: 'Liveness: the process answers', responses: { 200: json('Health', 'Alive: `{ "status": "ok" }`') } } },
      '/health/ready': { get: { summary: 'Readiness: the node takes traffic', responses: { 200: json('Health', 'Ready: `{ "status": "ready" }`'), 503: errorResponse('Starting or shutting down') } } },
      '/.well-known/jwks.json': { get: { summary: 'Public keys of APIX-issued tokens', responses: { 200: json('Jwks', 'The key set') } } },
      ...(authOpenApiPaths as Record<string, Record<string, Record<string, unknown>>>),
      ...(adminOpenApiPaths as Record<string, Record<string, Record<string, unknown>>>),
      ...(monitoringOpenApiPaths as Record<string, Record<string, Record<string, unknown>>>),
      ...(quotasOpenApiPaths as Record<string, Record<string, Record<string, unknown>>>),
  };
}
