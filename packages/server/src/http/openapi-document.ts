import {
  ErrorCodes,
  httpErrorResponseSchema,
  httpHistoryQuerySchema,
  httpPublishBodySchema,
  historyResultSchema,
  publishResultSchema,
  statusResponseSchema,
} from '@apix/protocol';
import { errorResponse, jsonSchema } from './openapi-schema.js';
import { adminOpenApiPaths } from './openapi-admin-paths.js';
import { authOpenApiPaths } from './openapi-auth-paths.js';
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
  return {
    openapi: '3.0.3',
    info: {
      title: 'APIX HTTP API',
      version,
      description:
        'Publish and read channel history over HTTP. Authenticate with `Authorization: Bearer <RS256 JWT>`. ' +
        'Errors are `{ "error": { "code", "message", "retryable" } }`; codes: ' +
        Object.values(ErrorCodes).map((e) => `\`${e.code}\` (${e.httpStatus})`).join(', ') + '.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: jsonSchema(httpErrorResponseSchema),
        PublishBody: jsonSchema(httpPublishBodySchema, 'input'),
        PublishResult: jsonSchema(publishResultSchema),
        HistoryResult: jsonSchema(historyResultSchema),
        Status: jsonSchema(statusResponseSchema),
      },
    },
    paths: {
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
      '/api/v1/status': { get: { summary: 'Node status: `status` and `version` for anyone; node id, engine, uptime and counts with a platform admin token', responses: { 200: { description: 'Status', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } } } } },
      '/api/v1': { get: { summary: 'API root: links to the WebSocket endpoint and docs', responses: { 200: { description: 'Links' } } } },
      '/health/live': { get: { summary: 'Liveness', responses: { 200: { description: 'Alive' } } } },
      '/health/ready': { get: { summary: 'Readiness', responses: { 200: { description: 'Ready' }, 503: errorResponse('Starting or shutting down') } } },
      '/.well-known/jwks.json': { get: { summary: 'Public keys of APIX-issued tokens', responses: { 200: { description: 'JWKS' } } } },
      ...authOpenApiPaths,
      ...adminOpenApiPaths,
      ...quotasOpenApiPaths,
    },
  };
}
