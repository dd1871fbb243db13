import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { openDatabase } from '../storage/database.js';
import { withUsageErrors, type CliCommand } from './cli-command.js';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'bring the database schema up to date, then exit',
  usage: `usage: apix migrate

Applies the committed migrations (packages/server/drizzle) to DATABASE_URL, or to the
embedded database in APIX_DATA_DIR when DATABASE_URL is empty, and exits. The server does
the same at start-up; run this first to migrate before a deploy. Safe to run while other
nodes start: PostgreSQL migrations run under an advisory lock.`,
  async run(args, io) {
    withUsageErrors(() => parseArgs({ args, options: {}, strict: true }));
    const config = loadConfig(io.env);
    const database = await openDatabase({ ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}), dataDir: config.APIX_DATA_DIR });
    try {
      await database.ping();
    } finally {
      await database.close();
    }
    const where = database.kind === 'postgres' ? redactUrl(config.DATABASE_URL ?? '') : `embedded PGlite in ${config.APIX_DATA_DIR}`;
    io.out(`schema up to date: ${where}\n`);
    return 0;
  },
};

/** The URL without its password, for printing. */
function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'PostgreSQL';
  }
}
