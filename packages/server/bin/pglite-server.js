#!/usr/bin/env node
// The embedded database's own process (see docs/adr/0010-embedded-pglite-in-a-child-process.md).
//
// Started by src/storage/pglite-process.ts with an IPC channel; never run by hand. It opens
// PGlite on the data folder given in argv and serves the PostgreSQL wire protocol on a unix
// socket (in a private 0700 folder, so only this user can connect), so the APIX server talks
// to it with the same node-postgres pool, timeouts and error classes as to a real PostgreSQL,
// and no query ever runs on the server's event-loop thread.
//
// Invariant: this process never outlives its parent. The parent holds the other end of the
// IPC channel; when the parent exits for any reason (SIGKILL included) the channel closes,
// 'disconnect' fires here, and the process closes PGlite and exits.
//
// Kept as plain JavaScript (not compiled from src/) so that the same file runs under the
// built server and under vitest, which executes the TypeScript sources directly.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** The longest PGlite may take to close (checkpoint) when the parent goes away. */
const CLOSE_TIMEOUT_MS = 10_000;

const [dataDir, socketPath, maxConnectionsArg, ...postgresSettings] = process.argv.slice(2);
if (!dataDir || !socketPath || !process.send) {
  process.stderr.write('pglite-server: internal helper of APIX; started by the server with an IPC channel\n');
  process.exit(2);
}

let db;
let server;
let exiting = false;

async function shutdown(code) {
  if (exiting) return;
  exiting = true;
  // A checkpoint that hangs must not keep an orphan alive.
  setTimeout(() => process.exit(code), CLOSE_TIMEOUT_MS).unref();
  try {
    await server?.stop();
    if (db && !db.closed) await db.close();
  } finally {
    process.exit(code);
  }
}

// The parent went away (exit, crash or SIGKILL): so do we.
process.on('disconnect', () => void shutdown(0));
process.on('message', (message) => {
  if (message && message.type === 'close') void shutdown(0);
});
// The parent's terminal may send SIGINT to the whole group; the parent decides when we stop.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void shutdown(0));

try {
  const startParams = [];
  for (const setting of postgresSettings) startParams.push('-c', setting);
  const options = startParams.length > 0 ? { startParams: [...PGlite.defaultStartParams, ...startParams] } : {};
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // initdb grows PGlite's WebAssembly memory to several hundred MB, and WebAssembly memory
    // never shrinks: this process only creates the folder and exits; the parent starts a
    // fresh one to serve (idle RSS ~170 MB instead of ~350-600 MB after a first start).
    db = await PGlite.create(dataDir, options);
    await db.close();
    process.send({ type: 'initialized' });
    await shutdown(0);
  }
  db = await PGlite.create(dataDir, options);
  server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: Number(maxConnectionsArg) || 1 });
  server.addEventListener('error', (event) => {
    process.stderr.write(`pglite-server: socket error: ${event.detail?.message ?? event.detail}\n`);
  });
  await server.start();
  process.send({ type: 'ready' });
} catch (error) {
  process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  await shutdown(1);
}
