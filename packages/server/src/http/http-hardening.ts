import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import { ApiXError } from '@apix/protocol';
import type { FastifyAdapter } from '@nestjs/platform-fastify';
import { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ApiXConfig } from '../config/config.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../limits/json-depth.js';
import type { Logger } from '../logging/logger.js';

/**
 * How often Node checks open HTTP connections against the header and request timeouts. Node's
 * default (30 s) would let a slow-headers socket live up to timeout + 30 s; at 1 s a slowloris
 * socket is gone within HTTP_HEADERS_TIMEOUT_MS + 1 s. The check walks only connections that
 * are still receiving a request, so it costs nothing for idle or upgraded sockets.
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

/**
 * Fastify/Node HTTP server options that bound how long a client may hold a socket without
 * finishing its request: headers (slowloris), the whole request (slow bodies) and an idle
 * keep-alive socket. The WebSocket upgrade is an HTTP request until its headers are complete,
 * so the headers timeout covers it too; after the upgrade the gateway's connect timeout
 * applies. Request logging is done by `registerRequestLogging` (credentials redacted).
 */
export function httpServerOptions(config: ApiXConfig): FastifyServerOptions {
  return {
    bodyLimit: config.MAX_FRAME_BYTES,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    // Fastify's own request lines log the raw URL (query tokens included): replaced by registerRequestLogging.
    logController: new LogController({ disableRequestLogging: true }),
    http: {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    },
  } as FastifyServerOptions;
}

/** Query parameters that carry credentials; compared lower-cased, without `-`/`_`. */
const CREDENTIAL_PARAMS = new Set([
  'token',
  'accesstoken',
  'idtoken',
  'refreshtoken',
  'apikey',
  'key',
  'password',
  'passwd',
  'secret',
  'clientsecret',
  'auth',
  'authorization',
  'signature',
  'sig',
  'code',
  'session',
  'jwt',
]);

export const REDACTED = '[redacted]';

/** `url` with the value of every credential-carrying query parameter replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // A malformed escape: compare the raw name.
      }
      return CREDENTIAL_PARAMS.has(decoded.toLowerCase().replace(/[-_]/g, '')) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, query)}?${params.join('&')}`;
}

/**
 * One log line per finished request: method, redacted URL, status, time. Fastify's own
 * request logging is off (it logs the raw URL, query tokens included); bodies and headers
 * are never logged, on auth routes or anywhere else.
 */
export function registerRequestLogging(instance: FastifyInstance, logger: Logger): void {
  instance.addHook('onResponse', (request, reply, done) => {
    logger.info(
      { reqId: request.id, method: request.method, url: redactUrl(request.url), statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime) },
      'request completed',
    );
    done();
  });
}

/**
 * The JSON body parser, with nesting bounded before parsing: thousands of levels answer a
 * typed `400 APIX_ERR_BAD_JSON` instead of reaching recursive code (schemas, serialisers,
 * storage) that would overflow its stack and answer 500. Otherwise Fastify's own parser
 * (prototype-poisoning protection included).
 */
export function useDepthLimitedJsonParser(adapter: FastifyAdapter, bodyLimit: number): void {
  const parse = adapter.getInstance().getDefaultJsonParser('error', 'error');
  adapter.useBodyParser('application/json', false, { bodyLimit }, (request: unknown, body: Buffer | string, done: (error: Error | null, value?: unknown) => void) => {
    if (exceedsJsonDepth(body)) {
      done(new ApiXError('BAD_JSON', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`));
      return;
    }
    parse(request as never, body as never, done);
  });
}

/** How long browsers may cache a CORS preflight answer. */
const CORS_PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Which browser origins may call the HTTP API, from the same `ALLOWED_ORIGINS` that governs
 * WebSocket upgrades: `*` any origin (credentials are bearer tokens, never cookies, so a
 * wildcard does not expose ambient authority); a list exactly those; empty (default) no
 * cross-origin access at all (same-origin pages need no CORS).
 */
export function corsOrigin(allowedOrigins: string): boolean | string[] {
  const entries = allowedOrigins.split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean);
  if (entries.includes('*')) return true;
  return entries.length > 0 ? entries : false;
}

/**
 * CORS and security headers on every HTTP response (`@fastify/cors`, `@fastify/helmet`).
 * The content security policy allows scripts, styles and images from the server itself only
 * ('self'), which is what Swagger UI at /api/docs and the dashboard serve; nothing inline
 * but styles (Swagger UI sets style attributes), no frames of APIX inside other sites.
 */
export async function registerSecurityPlugins(app: { register: (plugin: never, options: never) => unknown }, config: Pick<ApiXConfig, 'ALLOWED_ORIGINS'>): Promise<void> {
  await app.register(fastifyHelmet as never, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // API responses are fetched cross-origin by allowed browser apps (CORS decides who).
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  } as never);
  await app.register(fastifyCors as never, {
    origin: corsOrigin(config.ALLOWED_ORIGINS),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
    exposedHeaders: ['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
    maxAge: CORS_PREFLIGHT_MAX_AGE_SECONDS,
  } as never);
}
