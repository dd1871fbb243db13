import {
  alertsResponseSchema,
  dashboardResponseSchema,
  healthResponseSchema,
  latencyStatsResponseSchema,
  liveConnectionsResponseSchema,
} from '@apix/protocol';
import { z } from 'zod';
import { errorResponse, okResponse } from '../http/openapi-schema.js';

/**
 * OpenAPI path items of the monitoring API and `/metrics`, from the protocol's schemas (the
 * ones the dashboard parses with). Prose: docs/monitoring.md.
 */
const tags = ['monitoring'];
const security = [{ bearer: [] }];
const common = {
  401: errorResponse('`APIX_ERR_NOT_AUTHENTICATED` / `APIX_ERR_AUTH_FAILED`: no or an invalid credential'),
  403: errorResponse('`APIX_ERR_FORBIDDEN`: organisation admins (or API keys with the `admin` scope) and platform admins only'),
};
const scoped = 'Organisation admins get their organisation; platform admins the whole node. Each node answers for itself (`nodeId`).';

export const monitoringOpenApiPaths: Record<string, Record<string, unknown>> = {
  '/api/v1/monitoring/latency/stats': {
    get: {
      tags,
      summary: 'Publish→deliver latency percentiles per channel namespace (and organisation), and connection round trips',
      description: `${scoped} \`recent\` covers the current and the previous window (\`windowMs\`); \`sinceStart\` the node's life. Milliseconds.`,
      security,
      responses: { 200: okResponse('Percentiles', latencyStatsResponseSchema), ...common },
    },
  },
  '/api/v1/monitoring/alerts': {
    get: {
      tags,
      summary: 'Raised and recently cleared alerts',
      description: `${scoped} Alerts are also published as \`system_notification\` events on \`system:alerts\`.`,
      security,
      responses: { 200: okResponse('Alerts', alertsResponseSchema), ...common },
    },
  },
  '/api/v1/monitoring/dashboard': {
    get: {
      tags,
      summary: "What the dashboard's overview shows, in one document, for the whole cluster",
      description:
        'Organisation admins get their organisation; platform admins the platform. Unlike the other monitoring paths, this one merges every live node (with Redis): counts, rates and totals summed, `delivery` percentiles from the summed histograms, one row per node in `nodes`; `partial` when the other nodes could not be read.',
      security,
      responses: { 200: okResponse('Overview', dashboardResponseSchema), ...common },
    },
  },
  '/api/v1/monitoring/health': {
    get: {
      tags,
      summary: 'Component health: engine, storage, write queues, event loop (ok / degraded / down)',
      security,
      responses: { 200: okResponse('Health', healthResponseSchema), ...common },
    },
  },
  '/api/v1/monitoring/connections': {
    get: { tags, summary: 'Live connections on this node with their round-trip time', description: scoped, security, responses: { 200: okResponse('Connections', liveConnectionsResponseSchema), ...common } },
  },
  '/api/v1/monitoring/connections/{connectionId}': {
    delete: {
      tags,
      summary: 'Disconnect one live connection (of your organisation) on this node',
      security,
      parameters: [
        { name: 'connectionId', in: 'path', required: true, description: 'Connection id or session id', schema: { type: 'string' } },
        { name: 'reconnect', in: 'query', required: false, description: '`true`: close code 4000, the client reconnects and resumes. Default: 4501, it must not reconnect.', schema: { type: 'string', enum: ['true', 'false'] } },
      ],
      responses: {
        200: okResponse('Closed', z.object({ connectionId: z.string(), closeCode: z.number().int() })),
        ...common,
        404: errorResponse('`APIX_ERR_NOT_FOUND`: no such live connection of yours on this node'),
      },
    },
  },
  '/metrics': {
    get: {
      tags,
      summary: 'Prometheus metrics of this node (text exposition format)',
      description: 'Send `Authorization: Bearer <METRICS_TOKEN>` or a platform-admin token. With METRICS_PORT set, served there without a token and 404 here.',
      security,
      responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, ...common, 404: errorResponse('Metrics are on METRICS_PORT') },
    },
  },
};
