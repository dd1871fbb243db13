// Subscribe to a channel, print each event, and resume where the previous run stopped.
import { readFileSync, writeFileSync } from 'node:fs';
import { ApiXClient } from '@apix/sdk';
import { WebSocket } from 'ws'; // Node 20 has no global WebSocket (browsers and Node 22+ need no import)

const [channel = 'agent:demo', count = '3'] = process.argv.slice(2);
const saved = `.apix-position-${channel.replaceAll(':', '_')}.json`; // the last position delivered
let since;
try { since = JSON.parse(readFileSync(saved, 'utf8')); } catch { /* first run: from now on */ }

const client = new ApiXClient(process.env.APIX_URL ?? 'ws://127.0.0.1:3000/ws', { token: process.env.APIX_TOKEN, WebSocket });
client.on('disconnected', ({ cause }) => console.error(`disconnected: ${cause.message}`));
const sub = client.newSubscription(channel, { since });
sub.on('subscribed', ({ recovering, recovered, missed }) =>
  console.log(!recovering ? 'subscribed' : recovered ? 'resumed: nothing missed' : `gap: ${missed ?? 'some'} events lost`));
let received = 0;
sub.on('publication', ({ offset, event }) => {
  console.log(offset, event.type, JSON.stringify(event.payload));
  writeFileSync(saved, JSON.stringify(sub.position));
  if (++received === Number(count)) client.disconnect(); // nothing left open: the process exits
});
sub.subscribe();
client.connect();
await client.ready(); // rejects with the cause (refused token, server unreachable, …), not just "timed out"
