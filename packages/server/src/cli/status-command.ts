import { parseArgs } from 'node:util';
import type { StatusResponse } from '@apix/protocol';
import { withUsageErrors, serverUrl, type CliCommand } from './cli-command.js';
import { httpCall } from './http-call.js';

export const statusCommand: CliCommand = {
  name: 'status',
  summary: "show a server's status (version, engine, connections, readiness)",
  usage: `usage: apix status [--url <url>] [--json]

Asks a running server for /api/v1/status and /health/ready. Exit code 0 when it is up and
ready, 1 otherwise.

  --url <url>   the server (default: APIX_URL, else http://127.0.0.1:$PORT or :3000)
  --json        print the status document as JSON`,
  async run(args, io) {
    const { values } = withUsageErrors(() => parseArgs({ args, options: { url: { type: 'string' }, json: { type: 'boolean' } }, strict: true }));
    const base = serverUrl(values.url, io.env);
    const status = (await httpCall(io, new URL('/api/v1/status', base))) as StatusResponse | undefined;
    if (status === undefined) return 1;
    const ready = (await httpCall(io, new URL('/health/ready', base))) !== undefined;
    if (values.json) {
      io.out(`${JSON.stringify({ ...status, ready })}\n`);
    } else {
      io.out(
        [
          `${base.origin}: ${ready ? 'ready' : 'NOT ready'}`,
          `  version      ${status.version}`,
          `  node         ${status.nodeId}`,
          `  engine       ${status.engine}`,
          `  uptime       ${status.uptimeSeconds} s`,
          `  connections  ${status.connections}`,
          `  channels     ${status.channels}`,
        ].join('\n') + '\n',
      );
    }
    return ready ? 0 : 1;
  },
};
