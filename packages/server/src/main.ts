#!/usr/bin/env node
import { ConfigError, loadConfig } from './config/config.js';
import { startApixServer } from './apix-server.js';

/**
 * `npm start`: reads the environment, starts APIX on the embedded default unless told
 * otherwise, prints where it listens and a ready-to-use dev token, and shuts down
 * gracefully on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`apix: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const server = await startApixServer({ config });
  if (config.PRINT_DEV_TOKEN) {
    const token = await server.issuer.issue({ userId: 'dev-user', organizationId: 'dev', roles: ['admin'], ttlSeconds: config.DEV_TOKEN_TTL_SECONDS });
    process.stdout.write(
      [
        '',
        `APIX is running (engine: ${server.broker.name}, storage: ${server.database.kind}, data: ${config.APIX_DATA_DIR})`,
        `  Nodes      ${(await server.nodes.list().catch(() => [])).map((n) => n.nodeId).join(', ') || '(unknown)'}`,
        `  HTTP API   ${server.url}/api/v1`,
        `  API docs   ${server.url}/api/docs`,
        `  WebSocket  ${server.wsUrl}`,
        '',
        'Dev token (org "dev", user "dev-user", role admin):',
        token,
        '',
        'Try it:',
        `  curl -X POST ${server.url}/api/v1/channels/agent:demo/events -H "Authorization: Bearer $TOKEN" \\`,
        `       -H 'content-type: application/json' -d '{"type":"agent_status_update","payload":{"agentId":"demo","status":"running"}}'`,
        '',
      ].join('\n') + '\n',
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      server.logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`apix: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
