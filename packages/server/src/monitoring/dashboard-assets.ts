import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from '../logging/logger.js';

export const DASHBOARD_PATH = '/dashboard';

/**
 * Where `npm run build` puts the dashboard. This module is at `src/monitoring/` (vitest) or
 * `dist/monitoring/` (built), both three levels below `packages/`.
 */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));
}

/**
 * Serves the dashboard's static files at /dashboard on the server's own port (the app uses
 * hash routes, so one index.html serves every screen). If it was not built, /dashboard says
 * how to build it instead of failing the start.
 */
export async function serveDashboard(app: NestFastifyApplication, dir: string, logger: Logger): Promise<boolean> {
  if (!existsSync(`${dir}/index.html`)) {
    logger.warn({ dir }, 'dashboard not built: run `npm run build` to serve it at /dashboard');
    app.getHttpAdapter().getInstance().get(`${DASHBOARD_PATH}*`, async (_request, reply) =>
      reply.code(404).send({ error: { code: 'APIX_ERR_NOT_FOUND', message: 'the dashboard is not built: run `npm run build`', retryable: false } }),
    );
    return false;
  }
  await app.register(fastifyStatic as never, { root: dir, prefix: `${DASHBOARD_PATH}/`, decorateReply: false, index: 'index.html', maxAge: 0 });
  // The app's asset URLs are relative to `/dashboard/`: send the bare path there.
  app.getHttpAdapter().getInstance().get(DASHBOARD_PATH, async (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 302));
  return true;
}
