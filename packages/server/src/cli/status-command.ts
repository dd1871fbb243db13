import { parseArgs } from 'node:util';
import type { StatusResponse } from '@apix/protocol';
import { withUsageErrors, serverUrl, type CliCommand } from './cli-command.js';
import { httpCall } from './http-call.js';

export const statusCommand: CliCommand = {
  name: 'status',
  summary: "show a server's status (version, engine, connections, readiness)",
  usage: `usage: apix status [--url <url>] [--token <token>] [--json]

Asks a running server for /api/v1/status and /health/ready. Exit code 0 when it is up and
ready, 1 otherwise. Node id, engine, uptime and counts are shown to platform admins only:
pass such a token (\`apix token --roles platform-admin\`) to see them.

  --url <url>       the server (default: APIX_URL, else http://127.0.0.1:$PORT or :3000)
  --token <token>   a platform admin's token (default: APIX_TOKEN)
  --json            print the status document as JSON`,
  async run(args, io) {
    const { values } = withUsageErrors(() => parseArgs({ args, options: { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } }, strict: true }));
    const base = serverUrl(values.url, io.env);
    const token = values.token ?? io.env.APIX_TOKEN;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const status = (await httpCall(io, new URL('/api/v1/status', base), { headers })) as StatusResponse | undefined;
    if (status === undefined) return 1;
    const ready = (await httpCall(io, new URL('/health/ready', base))) !== undefined;
    if (values.json) {
      io.out(`${JSON.stringify({ ...status, ready })}\n`);
    } else {
      const details =
        status.engine === undefined
          ? ['  (node, engine and counts: pass a platform admin token with --token)']
          : [
              `  node         ${status.nodeId}`,
              `  engine       ${status.engine}`,
              `  uptime       ${status.uptimeSeconds} s`,
              `  connections  ${status.connections}`,
              `  channels     ${status.channels}`,
            ];
      io.out([`${base.origin}: ${ready ? 'ready' : 'NOT ready'}`, `  version      ${status.version}`, ...details].join('\n') + '\n');
    }
    return ready ? 0 : 1;
  },
};
