#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { organizationIdSchema, userIdSchema } from '@apix/protocol';
import { ConfigError, loadConfig } from './config/config.js';
import { loadOrCreateSigningKey } from './identity/signing-key-store.js';
import { TokenIssuer } from './identity/token-issuer.js';

const USAGE = `usage: apix token --org <org> --user <user> [--roles a,b] [--ttl <seconds>]

Mints an RS256 access token signed with the embedded default's key (in APIX_DATA_DIR,
default .apix-data), valid for APIX_DATA_DIR's server.`;

/** `apix token …`: mint a dev token with the key the server uses. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'token') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { org: { type: 'string' }, user: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string' } },
    strict: true,
  });
  const org = organizationIdSchema.safeParse(values.org);
  const user = userIdSchema.safeParse(values.user);
  const ttl = Number(values.ttl ?? NaN);
  if (!org.success || !user.success) {
    process.stderr.write(`apix: --org and --user are required: 1-64 of A-Z a-z 0-9 _ -\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const key = await loadOrCreateSigningKey(config.APIX_DATA_DIR);
  const issuer = new TokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
  const token = await issuer.issue({
    userId: user.data,
    organizationId: org.data,
    roles: values.roles ? values.roles.split(',').map((r) => r.trim()).filter(Boolean) : [],
    ttlSeconds: Number.isInteger(ttl) && ttl > 0 ? ttl : config.DEV_TOKEN_TTL_SECONDS,
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`apix: ${message}\n`);
    process.exit(2);
  },
);
