#!/usr/bin/env node
import { ConfigError, loadConfig } from './config/config.js';
import { startApixServer } from './apix-server.js';
import { DEV_ORGANIZATION_ID, DEV_USER_ID, ensureDevWorkspace } from './dev-workspace.js';
import { describeStorage, isLoopbackHost, startupBanner } from './startup-banner.js';

/**
 * `npm start`: reads the environment, starts APIX on the embedded default unless told
 * otherwise, says on stderr which engine and storage it uses and where it listens (with a
 * ready-to-use dev token on a loopback listener only), and shuts down gracefully on
 * SIGTERM/SIGINT. Stdout carries only JSON log lines.
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
  const storage = describeStorage(config.DATABASE_URL, config.APIX_DATA_DIR);
  const loopback = isLoopbackHost(config.HOST);
  // A token printed on a public listener would be an admin credential in every log collector.
  let devToken: string | undefined;
  if (config.PRINT_DEV_TOKEN && loopback) {
    await ensureDevWorkspace(server.repositories);
    devToken = await server.issuer.issue({ userId: DEV_USER_ID, organizationId: DEV_ORGANIZATION_ID, roles: ['admin'], ttlSeconds: config.DEV_TOKEN_TTL_SECONDS });
  }
  // One structured line for machines (stdout, with the other JSON logs), the banner for people (stderr).
  server.logger.info({ engine: server.broker.name, storage, url: server.url, websocket: server.wsUrl, devTokenPrinted: devToken !== undefined }, 'apix started');
  if (config.PRINT_DEV_TOKEN) {
    const nodes = (await server.nodes.list().catch(() => [])).map((n) => n.nodeId);
    process.stderr.write(startupBanner({ engine: server.broker.name, storage, nodes, url: server.url, wsUrl: server.wsUrl, host: config.HOST, devToken }));
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
