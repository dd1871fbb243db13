import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { ThrowawayPostgres } from '../support/throwaway-postgres.js';

/**
 * The data plane under a real database outage: a PostgreSQL of the test's own (never the
 * machine's) is stopped for 60 s, then SIGSTOPped for 20 s, while a publisher and a subscriber
 * keep working on a channel the node knows. Live delivery goes on untouched, no subscription is
 * revoked, first-time lookups fail fast, nothing is appended after its client was told it
 * failed, and the records of what happened meanwhile are all written, in order, once the
 * database is back.
 */
const STORAGE_TIMEOUT_MS = 1_000;
let pg: ThrowawayPostgres;
let server: TestServer;
beforeAll(async () => {
  pg = await ThrowawayPostgres.start();
  server = await startTestServer({ DATABASE_URL: pg.url, STORAGE_TIMEOUT_MS, PERMISSION_CACHE_TTL_MS: 500 });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await pg?.destroy();
}, 60_000);

interface Traffic {
  stop(): Promise<void>;
  readonly confirmed: number[];
  readonly failed: number;
}

/** Publishes a numbered event every 50 ms on a known channel until stopped. */
function publishLoop(publisher: RawClient, channel: string, from: number): Traffic {
  const confirmed: number[] = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    for (let n = from; running; n++) {
      const reply = await publisher.request({ type: 'publish', channel, idempotencyKey: `n${n}`, event: { type: 'note', payload: n } });
      if (reply.ok) confirmed.push(n);
      else failed++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    confirmed,
    get failed() {
      return failed;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function duringOutage(label: string, subscriber: RawClient, publisher: RawClient, holdMs: number, first: number): Promise<number> {
  const traffic = publishLoop(publisher, 'agent:known', first);
  // Meanwhile: a first-time lookup fails fast and appends nothing; a new client joins a known channel.
  await new Promise((r) => setTimeout(r, STORAGE_TIMEOUT_MS * 2));
  const startedAt = performance.now();
  // An organisation this node has never seen needs storage to be authorised: refused, fast.
  const stranger = await RawClient.connect(server.wsUrl, await server.token({ org: `unseen-${label}`, user: 'sam' }));
  const refused = await stranger.request({ type: 'publish', channel: 'agent:new', event: { type: 'note', payload: 'refused' } });
  await stranger.close();
  expect(refused, label).toMatchObject({ ok: false, error: { code: 'APIX_ERR_UNAVAILABLE', retryable: true } });
  expect(performance.now() - startedAt, label).toBeLessThan(STORAGE_TIMEOUT_MS + 3_000);
  const joiner = await RawClient.connect(server.wsUrl, await server.token({ user: `joiner-${label}` }));
  expect(await joiner.request({ type: 'subscribe', channels: ['agent:known'] }), label).toMatchObject({ ok: true });
  await new Promise((r) => setTimeout(r, holdMs));
  await traffic.stop();
  expect(traffic.failed, `${label}: publishes on a known channel failed`).toBe(0);
  const last = traffic.confirmed.at(-1)!;
  // Every confirmed publish reached the subscriber, in order, and nothing else did.
  const events = await subscriber.waitForEvents('agent:known', last, 30_000);
  expect(events.map((e) => (e.event as { payload: number }).payload)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  expect(subscriber.frames.some((f) => f.type === 'subscription.removed'), `${label}: a subscription was removed`).toBe(false);
  await joiner.close();
  return last + 1;
}

describe('a database that stops, then stalls, under traffic', () => {
  it('keeps delivering, revokes nothing, fails first-time lookups fast, and writes every record afterwards', async () => {
    const subscriber = await RawClient.connect(server.wsUrl, await server.token({ user: 'sub' }));
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    expect(await subscriber.request({ type: 'subscribe', channels: ['agent:known'] })).toMatchObject({ ok: true });
    const warmup = publishLoop(publisher, 'agent:known', 1);
    await new Promise((r) => setTimeout(r, 500));
    await warmup.stop();
    let next = warmup.confirmed.at(-1)! + 1;

    await pg.stop();
    next = await duringOutage('stopped', subscriber, publisher, 60_000, next);
    await pg.start();

    await pg.pause();
    next = await duringOutage('stalled', subscriber, publisher, 20_000, next);
    await pg.resume();

    // The refused publishes were never appended.
    // (Right after the stall the database is still catching up — spooled records, connections
    // whose queries timed out — so a first read may be refused as retryable, as the API allows:
    // retry it for a bounded time.)
    for (const label of ['stopped', 'stalled']) {
      const stranger = await RawClient.connect(server.wsUrl, await server.token({ org: `unseen-${label}`, user: 'sam' }));
      const retryUntil = performance.now() + 20_000;
      let history = await stranger.request({ type: 'history', channel: 'agent:new' });
      while (history.ok !== true && (history.error as { retryable?: boolean } | undefined)?.retryable === true && performance.now() < retryUntil) {
        await new Promise((r) => setTimeout(r, 250));
        history = await stranger.request({ type: 'history', channel: 'agent:new' });
      }
      await stranger.close();
      expect(history, label).toMatchObject({ ok: true, result: { publications: [], position: { offset: 0 } } });
    }
    // Records of what happened during the outage are written once the database answers, in order.
    const deadline = performance.now() + 60_000;
    let actions: string[] = [];
    while (performance.now() < deadline) {
      await server.controlPlane.audit.flush().catch(() => undefined);
      // Oldest first, in the order they were recorded (rows of one millisecond included).
      const page = await server.repositories.audit.query('acme', { limit: 1000, order: 'oldest' }).catch(() => undefined);
      actions = (page?.rows ?? []).filter((r) => r.actorId?.startsWith('joiner-')).map((r) => `${r.actorId} ${r.action}`);
      if (actions.filter((a) => a.endsWith('subscription.added')).length === 2 && actions.filter((a) => a.endsWith('connection.closed')).length === 2) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(actions).toEqual([
      'joiner-stopped connection.opened',
      'joiner-stopped subscription.added',
      'joiner-stopped connection.closed',
      'joiner-stalled connection.opened',
      'joiner-stalled subscription.added',
      'joiner-stalled connection.closed',
    ]);
    // Connection rows have their own write queue (with its own backoff): give it the same time.
    let statuses: string[] = [];
    while (performance.now() < deadline) {
      statuses = (await server.repositories.connections.list('acme', { userId: 'joiner-stopped' }).catch(() => [])).map((r) => r.status);
      if (statuses.length > 0 && statuses.every((s) => s === 'DISCONNECTED')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(statuses).toEqual(['DISCONNECTED']);
    expect(next).toBeGreaterThan(1_000 / 50);
    await Promise.all([subscriber.close(), publisher.close()]);
  }, 300_000);
});
