import { parseArgs } from 'node:util';
import { organizationIdSchema, userIdSchema } from '@apix/protocol';
import { loadConfig } from '../config/config.js';
import { loadOrCreateSigningKey } from '../identity/signing-key-store.js';
import { TokenIssuer } from '../identity/token-issuer.js';
import { withUsageErrors, positiveInteger, UsageError, type CliCommand } from './cli-command.js';

export const tokenCommand: CliCommand = {
  name: 'token',
  summary: 'mint an access token with the server\'s own key',
  usage: `usage: apix token --org <org> --user <user> [--roles a,b] [--ttl <seconds>]

Mints an RS256 access token signed with the embedded default's key (in APIX_DATA_DIR,
default .apix-data), valid for that data folder's server. Prints the token.

  --org <org>       organisation id (1-64 of A-Z a-z 0-9 _ -)
  --user <user>     user id (same alphabet)
  --roles a,b       roles in the token (default none)
  --ttl <seconds>   lifetime (default DEV_TOKEN_TTL_SECONDS, 86400)`,
  async run(args, io) {
    const { values } = withUsageErrors(() => parseArgs({ args, options: { org: { type: 'string' }, user: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string' } }, strict: true }));
    const org = organizationIdSchema.safeParse(values.org);
    const user = userIdSchema.safeParse(values.user);
    if (!org.success || !user.success) throw new UsageError('--org and --user are required: 1-64 of A-Z a-z 0-9 _ -');
    const ttl = positiveInteger('ttl', values.ttl);
    const config = loadConfig(io.env);
    const key = await loadOrCreateSigningKey(config.APIX_DATA_DIR);
    const issuer = new TokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
    const token = await issuer.issue({
      userId: user.data,
      organizationId: org.data,
      roles: values.roles ? values.roles.split(',').map((r) => r.trim()).filter(Boolean) : [],
      ttlSeconds: ttl ?? config.DEV_TOKEN_TTL_SECONDS,
    });
    io.out(`${token}\n`);
    return 0;
  },
};
