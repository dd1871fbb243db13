// Publish agent and tool events with an API key: once over HTTP, then over a WebSocket.
import { ApiXClient } from '@apix/sdk';
import { WebSocket } from 'ws'; // Node 20 has no global WebSocket (browsers and Node 22+ need no import)

const base = process.env.APIX_HTTP_URL ?? 'http://127.0.0.1:3000';
const channel = process.argv[2] ?? 'agent:demo';

/** Without APIX_API_KEY, an organisation admin's token (the dev token printed by `npm start`, or one from /api/v1/auth/login) creates a publish-only key. */
async function apiKey() {
  if (process.env.APIX_API_KEY) return process.env.APIX_API_KEY;
  const token = process.env.APIX_TOKEN;
  if (!token) throw new Error('set APIX_API_KEY, or APIX_TOKEN to an admin token to create one');
  const { org } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  const response = await fetch(`${base}/api/v1/admin/organizations/${org}/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'example publisher', scopes: ['publish'] }),
  });
  if (!response.ok) throw new Error(`creating an API key failed: ${response.status} ${await response.text()}`);
  return (await response.json()).key;
}

const key = await apiKey();

// 1. HTTP: one POST per event. The idempotency key makes a retry of the same POST harmless.
const response = await fetch(`${base}/api/v1/channels/${channel}/events`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    type: 'tool_call_start',
    payload: { toolCallId: 'call-1', toolName: 'search', arguments: { query: 'weather in Lyon' } },
    idempotencyKey: 'example-call-1-start',
  }),
});
if (!response.ok) throw new Error(`HTTP publish failed: ${response.status} ${await response.text()}`);
console.log('http', 'tool_call_start', 'offset', (await response.json()).offset);

// 2. WebSocket: one connection for many events; each publish resolves once the event is appended.
const client = new ApiXClient(process.env.APIX_URL ?? base.replace(/^http/, 'ws') + '/ws', { token: key, WebSocket, clientType: 'INTERNAL_SERVICE' });
client.connect();
await client.ready();
for (const event of [
  { type: 'tool_call_result', payload: { toolCallId: 'call-1', result: { forecast: 'sunny' } } },
  { type: 'agent_status_update', payload: { agentId: 'support-bot', status: 'idle' } },
]) {
  const { offset } = await client.publish(channel, event);
  console.log('ws', event.type, 'offset', offset);
}
client.disconnect();
