import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';

/**
 * `/metrics` on a port of its own (METRICS_PORT), without a token: for setups where the
 * scraper reaches a private interface that clients cannot. Anything else answers 404.
 */
export async function startMetricsServer(registry: Registry, options: { port: number; host: string }, logger: Logger): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'APIX_ERR_NOT_FOUND', message: 'only GET /metrics here', retryable: false } }));
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'APIX_ERR_INTERNAL', message: 'metrics collection failed', retryable: true } }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
