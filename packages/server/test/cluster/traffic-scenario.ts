import { ApiXClient, type PublicationContext } from '@apix/sdk';
import { WebSocket } from 'ws';
import type { NodeCluster } from './node-processes.js';

export interface ScenarioOptions {
  readonly clients: number;
  readonly eventsPerSecond: number;
  readonly durationMs: number;
  /** Called this long after publishing started (the fault). */
  readonly disruptAfterMs: number;
  readonly disrupt: () => Promise<void>;
  /** Node indexes publishes may go to while the fault is on (never the one being killed). */
  readonly publishTo: (seq: number) => number;
}

export interface ClientRecord {
  readonly client: ApiXClient;
  readonly firstNode: number;
  readonly received: PublicationContext[];
  /** performance.now() of each (re)connection. */
  readonly connectedAt: number[];
}

export interface ScenarioResult {
  readonly published: Map<number, { offset: number; epoch: string }>;
  readonly clients: ClientRecord[];
  readonly disruptedAt: number;
}

const CHANNEL = 'agent:traffic';

/**
 * SDK clients spread over the nodes (each with every node's URL, its own first) receive a
 * steady stream of events published over HTTP, while `disrupt` hits the cluster. Publishes
 * retry with the same idempotency key until accepted, as a well-behaved service would.
 */
export async function runTrafficScenario(cluster: NodeCluster, options: ScenarioOptions): Promise<ScenarioResult> {
  const token = await cluster.token({ user: 'watcher' });
  const publisherToken = await cluster.token({ user: 'svc', roles: ['service'] });
  const urls = cluster.nodes.map((n) => n.wsUrl);
  const clients: ClientRecord[] = [];
  for (let i = 0; i < options.clients; i++) {
    const firstNode = i % urls.length;
    const ordered = [...urls.slice(firstNode), ...urls.slice(0, firstNode)];
    const client = new ApiXClient(ordered, { token, WebSocket: WebSocket as never, minReconnectDelayMs: 100, maxReconnectDelayMs: 1_000 });
    const record: ClientRecord = { client, firstNode, received: [], connectedAt: [] };
    client.on('connected', () => record.connectedAt.push(performance.now()));
    client.subscribe(CHANNEL, { publication: (ctx) => record.received.push(ctx) });
    client.connect();
    clients.push(record);
  }
  await Promise.all(clients.map((c) => c.client.ready(30_000)));
  // Subscribed everywhere before the first publish, so every client must see every event.
  const deadline = performance.now() + 30_000;
  while (clients.some((c) => c.client.getSubscription(CHANNEL)?.state !== 'subscribed')) {
    if (performance.now() > deadline) throw new Error('clients not subscribed in time');
    await new Promise((r) => setTimeout(r, 50));
  }

  const published = new Map<number, { offset: number; epoch: string }>();
  const publish = async (seq: number) => {
    const until = performance.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      const node = cluster.nodes[options.publishTo(seq + attempt)]!;
      const response = await fetch(`${node.url}/api/v1/channels/${CHANNEL}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publisherToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'agent_status_update', payload: { agentId: String(seq), status: 'running' }, idempotencyKey: `seq-${seq}` }),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      if (response?.status === 201) {
        published.set(seq, (await response.json()) as { offset: number; epoch: string });
        return;
      }
      if (performance.now() > until) throw new Error(`publish ${seq} never accepted`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const started = performance.now();
  const total = Math.round((options.eventsPerSecond * options.durationMs) / 1_000);
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((options.eventsPerSecond * tickMs) / 1_000));
  const inFlight: Promise<void>[] = [];
  let disruptedAt = 0;
  let disruption: Promise<void> | undefined;
  for (let seq = 1; seq <= total; ) {
    const now = performance.now();
    if (!disruption && now - started >= options.disruptAfterMs) {
      disruptedAt = now;
      disruption = options.disrupt();
    }
    for (let k = 0; k < perTick && seq <= total; k++) inFlight.push(publish(seq++));
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.all(inFlight);
  await disruption;
  return { published, clients, disruptedAt };
}

/** Waits until every client has received `count` publications (or the deadline passes). */
export async function waitForDelivery(result: ScenarioResult, timeoutMs: number): Promise<void> {
  const count = result.published.size;
  const deadline = performance.now() + timeoutMs;
  while (result.clients.some((c) => c.received.length < count)) {
    if (performance.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
