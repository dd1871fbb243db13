import { isIP } from 'node:net';

/** Whether `host` only accepts connections from this machine (so a printed dev token is only usable here). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare.startsWith('::ffff:127.');
  return false;
}

/** Where events are stored, said plainly (the password of a URL never printed). */
export function describeStorage(databaseUrl: string | undefined, dataDir: string): string {
  if (!databaseUrl) return `embedded PGlite in ${dataDir}`;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return `PostgreSQL ${url.toString()}`;
  } catch {
    return 'PostgreSQL';
  }
}

export interface BannerInput {
  engine: string;
  storage: string;
  /** Live nodes of the cluster (this one alone without Redis). */
  nodes: readonly string[];
  url: string;
  wsUrl: string;
  host: string;
  devToken: string | undefined;
}

/** The human start-up text. It goes to stderr: stdout carries JSON logs a machine may parse. */
export function startupBanner(input: BannerInput): string {
  const lines = [
    '',
    `APIX is running — engine: ${input.engine}, storage: ${input.storage}`,
    `  Nodes      ${input.nodes.length > 0 ? input.nodes.join(', ') : '(unknown)'}`,
    `  HTTP API   ${input.url}/api/v1`,
    `  API docs   ${input.url}/api/docs  (JSON: ${input.url}/api/docs/openapi.json)`,
    `  WebSocket  ${input.wsUrl}`,
    '',
  ];
  if (input.devToken) {
    lines.push(
      'Dev token (org "dev", user "dev-user", role admin; only printed because HOST is loopback):',
      input.devToken,
      '',
      'Try it:',
      `  TOKEN=<the dev token>`,
      `  curl -X POST ${input.url}/api/v1/channels/agent:demo/events -H "Authorization: Bearer $TOKEN" \\`,
      `       -H 'content-type: application/json' -d '{"type":"agent_status_update","payload":{"agentId":"demo","status":"running"}}'`,
      '',
    );
  } else {
    lines.push(`No dev token printed: HOST=${input.host} is reachable from other machines. Mint one with \`npx apix token --org <org> --user <user>\`.`, '');
  }
  return `${lines.join('\n')}\n`;
}
