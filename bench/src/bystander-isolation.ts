/**
 * Bystander isolation (issue 7, finding 3): one tenant churns subscribe/unsubscribe and
 * history reads as fast as its limits let it, from several connections, while another
 * tenant's `heartbeat.ping` round trip is measured. Prints p50/p99/max of the bystander's RTT
 * without and with the storm, and what the churner was answered (typed refusals, not
 * timeouts). Writes bench/results/bystander-<time>.json.
 *
 *   npx tsc -b bench && node bench/dist/bystander-isolation.js [--seconds=10] [--churners=4]
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { loadOrCreateSigningKey } from '../../packages/server/dist/identity/signing-key-store.js';
import { TokenIssuer } from '../../packages/server/dist/identity/token-issuer.js';
import { sleep } from './clock.js';
import { Histogram } from './histogram.js';
import { startServer } from './server-process.js';
import { TARGETS } from './targets.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SECONDS = arg('seconds', 10);
const CHURNERS = arg('churners', 4);
const PING_INTERVAL_MS = 20;

interface Socket {
  ws: WebSocket;
  pending: Map<string, (frame: Record<string, unknown>) => void>;
}

async function open(url: string, token: string): Promise<Socket> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const socket: Socket = { ws, pending: new Map() };
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    const id = typeof frame.id === 'string' ? frame.id : undefined;
    if (id && socket.pending.has(id)) {
      socket.pending.get(id)!(frame);
      socket.pending.delete(id);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // connection.established
    ws.once('error', reject);
  });
  return socket;
}

let nextId = 0;
function request(socket: Socket, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = `r${++nextId}`;
  return new Promise((resolve) => {
    socket.pending.set(id, resolve);
    socket.ws.send(JSON.stringify({ ...frame, id }));
  });
}

async function measurePings(socket: Socket, untilMs: number): Promise<Histogram> {
  const histogram = new Histogram();
  while (performance.now() < untilMs) {
    const sent = performance.now();
    await request(socket, { type: 'heartbeat.ping' });
    histogram.record((performance.now() - sent) * 1000);
    await sleep(PING_INTERVAL_MS);
  }
  return histogram;
}

async function churn(socket: Socket, untilMs: number, answers: Record<string, number>, worker: number): Promise<void> {
  let n = 0;
  while (performance.now() < untilMs && socket.ws.readyState === WebSocket.OPEN) {
    const channels = Array.from({ length: 10 }, (_, i) => `agent:w${worker}-${(n + i) % 50}`);
    const batch = [
      request(socket, { type: 'subscribe', channels }),
      request(socket, { type: 'history', channel: channels[0], limit: 100 }),
      request(socket, { type: 'unsubscribe', channels }),
    ];
    for (const reply of await Promise.all(batch)) {
      const key = reply.ok === true ? 'ok' : String((reply.error as { code?: string } | undefined)?.code ?? 'unknown');
      answers[key] = (answers[key] ?? 0) + 1;
    }
    n += 10;
  }
}

const us = (h: Histogram) => {
  const s = h.summary();
  return { count: s.count, p50Ms: s.p50 / 1000, p99Ms: s.p99 / 1000, maxMs: s.max / 1000 };
};

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'apix-bystander-'));
  const key = await loadOrCreateSigningKey(dataDir);
  const issuer = new TokenIssuer(key, { issuer: 'apix', audience: 'apix' });
  const token = (org: string, user: string) => issuer.issue({ userId: user, organizationId: org, ttlSeconds: 3_600 });
  const server = await startServer(TARGETS.apix, dataDir);
  try {
    const bystander = await open(server.url, await token('bystander', 'calm'));
    const churners = await Promise.all(Array.from({ length: CHURNERS }, async (_, i) => open(server.url, await token('noisy', `churner-${i}`))));
    await measurePings(bystander, performance.now() + 2_000); // warm-up
    const quiet = await measurePings(bystander, performance.now() + SECONDS * 1000);
    const answers: Record<string, number> = {};
    const until = performance.now() + SECONDS * 1000;
    const [storm] = await Promise.all([measurePings(bystander, until), ...churners.map((c, i) => churn(c, until, answers, i))]);
    const result = {
      at: new Date().toISOString(),
      seconds: SECONDS,
      churners: CHURNERS,
      bystanderPingQuiet: us(quiet),
      bystanderPingDuringStorm: us(storm),
      churnerAnswers: answers,
    };
    console.log(JSON.stringify(result, null, 2));
    const results = fileURLToPath(new URL('../results', import.meta.url));
    await mkdir(results, { recursive: true });
    await writeFile(join(results, `bystander-${Date.now()}.json`), JSON.stringify(result, null, 2));
    for (const socket of [bystander, ...churners]) socket.ws.close();
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
