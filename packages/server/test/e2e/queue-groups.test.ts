import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';
import { ackersByOffset, QueueGroupMember, waitUntil } from '../support/queue-group-member.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Queue groups end to end on one node (ADR 0042), on the memory engine and on the real Redis:
 * each event goes to exactly one live member and is acked by that member only; a member whose
 * socket drops without closing its session leaves its unacked events pending, and they go to
 * another member only once the group idle time has passed; the per-tenant caps answer with
 * typed errors. The cross-node case (a node killed) is test/cluster/queue-groups-cluster.test.ts.
 */
const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `apixtest-qg-${process.pid}-${Date.now()}`;

/** A live member redelivers to itself within ACK_TIMEOUT + CAP = 2.2 s; the idle time is above that floor (3.2 s). */
const IDLE_MS = 3_500;
const GROUP_CONFIG = { ACK_TIMEOUT_MS: 2_000, ACK_RETRY_BASE_MS: 100, ACK_RETRY_CAP_MS: 200, ACK_MAX_DELIVERIES: 5, GROUP_IDLE_MS: IDLE_MS };
/** A receipt may arrive late; that only shortens a measured gap by the receive delay. */
const RECEIVE_SLACK_MS = 250;
const TIMEOUT = { timeout: 90_000 };

let server: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.stop();
  server = undefined;
});
afterAll(() => deleteKeysWithPrefix(REDIS_URL, PREFIX));

const engines = [
  { name: 'memory engine', config: {} },
  { name: 'Redis engine', config: { REDIS_URL, REDIS_KEY_PREFIX: `${PREFIX}-${Math.random().toString(36).slice(2, 8)}` } },
] as const;

async function member(name: string, channel: string, group: string, options: { holdAcks?: boolean; sessionToken?: string; user?: string } = {}): Promise<QueueGroupMember> {
  const joined = await QueueGroupMember.join(server!.wsUrl, await server!.token({ user: options.user ?? name }), name, channel, group, options);
  clients.push(joined.client);
  return joined;
}

async function publisher(): Promise<RawClient> {
  const client = await RawClient.connect(server!.wsUrl, await server!.token({ user: 'publisher' }));
  clients.push(client);
  return client;
}

/** Publishes events `from..to` in order; resolves with each one's log offset and when its publish was sent. */
async function publish(client: RawClient, channel: string, from: number, to: number): Promise<Array<{ offset: number; sentAt: number }>> {
  const published = [];
  for (let i = from; i <= to; i++) {
    const sentAt = performance.now();
    const reply = await client.request({ type: 'publish', channel, event: { type: 'job', payload: i } });
    expect(reply).toMatchObject({ ok: true });
    published.push({ offset: (reply.result as { offset: number }).offset, sentAt });
  }
  return published;
}

let channelSeq = 0;
/** A channel of its own per test: the Redis engine's keys outlive a test server. */
function freshChannel(): string {
  return `agent:jobs-${++channelSeq}`;
}

describe.each(engines)('queue groups ($name)', ({ config }) => {
  it('hands each event to exactly one live member, which alone acks it; a broadcast subscriber still sees every event', TIMEOUT, async () => {
    server = await startTestServer({ ...config, ...GROUP_CONFIG });
    const channel = freshChannel();
    const members = [await member('m1', channel, 'workers'), await member('m2', channel, 'workers'), await member('m3', channel, 'workers')];
    const watcher = await RawClient.connect(server.wsUrl, await server.token({ user: 'watcher' }));
    clients.push(watcher);
    expect(await watcher.request({ type: 'subscribe', channels: [channel] })).toMatchObject({ ok: true });
    const pub = await publisher();
    const total = 60;
    const expected = (await publish(pub, channel, 1, total)).map((p) => p.offset);

    await waitUntil(() => ackersByOffset(members).size === total, 'every event acked');
    // Exactly one member received each event, once, on its first delivery; and that member acked it.
    const received = members.flatMap((m) => m.receipts);
    expect(received.map((r) => r.offset).sort((a, b) => a - b)).toEqual(expected);
    expect(received.every((r) => r.retryCount === 0)).toBe(true);
    expect([...ackersByOffset(members).keys()].sort((a, b) => a - b)).toEqual(expected);
    for (const [offset, ackers] of ackersByOffset(members)) expect(ackers, `ackers of ${offset}`).toHaveLength(1);
    // Spread over the members: a publication wakes one member of the node in turn, not the first reader every time.
    for (const m of members) expect(m.receipts.length, `events handed to ${m.name}`).toBeGreaterThanOrEqual(total / 10);
    // Broadcast on the same channel is unchanged: every event, no acknowledgment.
    const seen = await watcher.waitForEvents(channel, total);
    expect(seen.map((f) => f.offset)).toEqual(expected);
    expect(seen.every((f) => f.acknowledgment === undefined)).toBe(true);
    // Nothing is redelivered later (acks were stored): wait past an ack timeout and look again.
    const before = received.length;
    await new Promise((r) => setTimeout(r, GROUP_CONFIG.ACK_TIMEOUT_MS + 500));
    expect(members.flatMap((m) => m.receipts)).toHaveLength(before);
  });

  it('a member whose socket drops without closing its session: its unacked events go to another member, only after the idle time, and are acked once', TIMEOUT, async () => {
    server = await startTestServer({ ...config, ...GROUP_CONFIG, METRICS_PORT: 0 });
    const channel = freshChannel();
    // The first member is alone, so it is handed the first events; it holds them unacked ("processing").
    const doomed = await member('doomed', channel, 'workers', { holdAcks: true });
    const pub = await publisher();
    const first = await publish(pub, channel, 1, 5);
    await waitUntil(() => doomed.receipts.length >= 5, 'the first member to hold five events');
    const survivors = [await member('s1', channel, 'workers'), await member('s2', channel, 'workers')];
    // The socket goes away without a close frame: the session stays resumable, the events stay pending under it.
    doomed.client.socket.terminate();
    await doomed.client.closed;
    // Until the server notices the drop, the doomed member may still be handed some of these.
    const later = await publish(pub, channel, 6, 20);
    const published = [...first, ...later];

    const all = [doomed, ...survivors];
    await waitUntil(() => ackersByOffset(all).size === published.length, 'every event acked', 30_000);
    expect([...ackersByOffset(all).keys()].sort((a, b) => a - b)).toEqual(published.map((p) => p.offset));
    for (const [offset, ackers] of ackersByOffset(all)) expect(ackers, `ackers of ${offset}`).toHaveLength(1);
    expect(doomed.acked).toEqual([]);
    const survivorReceipts = survivors.flatMap((s) => s.receipts);
    for (const { offset, sentAt } of published) {
      const got = survivorReceipts.filter((r) => r.offset === offset);
      expect(got, `offset ${offset} handed to one survivor, once`).toHaveLength(1);
      const receipt = got[0]!;
      const heldByDoomed = doomed.receipts.filter((r) => r.offset === offset);
      if (first.some((p) => p.offset === offset)) {
        // Held by the dead member: moved not before the idle time since its last delivery there, as a further delivery.
        const lastToDoomed = Math.max(...heldByDoomed.map((r) => r.at));
        expect(receipt.at - lastToDoomed, `idle before offset ${offset} moved`).toBeGreaterThanOrEqual(IDLE_MS - RECEIVE_SLACK_MS);
        expect(receipt.retryCount).toBeGreaterThanOrEqual(1);
      } else if (receipt.retryCount > 0) {
        // Sent to the dead socket before the server noticed: moved only after the idle time too.
        expect(receipt.at - sentAt, `idle before offset ${offset} moved`).toBeGreaterThanOrEqual(IDLE_MS);
      }
    }
    // The node's metrics count what its claim passes moved.
    const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    const claimed = Number(/^apix_queue_group_claimed_total (\d+)/m.exec(metrics)?.[1]);
    expect(claimed).toBeGreaterThanOrEqual(first.length);
    expect(metrics).toMatch(/^apix_queue_groups 1$/m);
    expect(metrics).toMatch(/^apix_queue_group_gone_total 0$/m);
  });
});

/** The names of a queue group's members in Redis (XINFO CONSUMERS), found by scanning the test's own prefix. */
async function redisMembersOf(prefix: string, group: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const names: string[] = [];
    for (const key of await redis.keys(`${prefix}:*`)) {
      if ((await redis.type(key)) !== 'stream') continue;
      const groups = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
      if (!groups.some((g) => g[1] === group)) continue;
      for (const consumer of (await redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[][]) names.push(String(consumer[1]));
    }
    return names;
  } finally {
    redis.disconnect();
  }
}

describe.each(engines)('queue group members that unsubscribe ($name)', ({ config }) => {
  it("give back their unacked events at once: another member gets them long before the idle time, as further deliveries, and the leaver is no longer a member", TIMEOUT, async () => {
    // An idle time no test run reaches: without the release, the held events could only move after it.
    const idleMs = 60_000;
    server = await startTestServer({ ...config, ...GROUP_CONFIG, GROUP_IDLE_MS: idleMs, METRICS_PORT: 0 });
    const channel = freshChannel();
    const leaver = await member('leaver', channel, 'workers', { holdAcks: true });
    const pub = await publisher();
    const held = (await publish(pub, channel, 1, 3)).map((p) => p.offset);
    await waitUntil(() => leaver.receipts.length >= 3, 'the first member to hold three events');
    const stayer = await member('stayer', channel, 'workers');
    const leftAt = performance.now();
    expect(await leaver.client.request({ type: 'unsubscribe', channels: [channel] })).toMatchObject({ ok: true });

    await waitUntil(() => held.every((offset) => stayer.acked.includes(offset)), 'the other member to get and ack the held events', 15_000);
    expect(performance.now() - leftAt).toBeLessThan(idleMs / 4);
    // Each once, as its second delivery: releasing was not a delivery, the claim was.
    expect(stayer.receipts.filter((r) => held.includes(r.offset)).map((r) => [r.offset, r.retryCount])).toEqual(held.map((o) => [o, 1]));
    expect(leaver.receipts.map((r) => r.offset)).toEqual(held);
    expect(leaver.acked).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^apix_queue_group_released_total 3$/m);
    if ('REDIS_KEY_PREFIX' in config) {
      // The leaver holds nothing and will not come back as a member: it left the Redis group's member list.
      const members = await redisMembersOf(config.REDIS_KEY_PREFIX, 'q:workers');
      expect(members).toContain(stayer.sessionId);
      expect(members).not.toContain(leaver.sessionId);
    }
  });
});

describe('queue group dead letters', () => {
  it('an event whose last delivery went to a member that then died is dead-lettered by the claimer, never delivered beyond the maximum', TIMEOUT, async () => {
    server = await startTestServer({ ...GROUP_CONFIG, ACK_MAX_DELIVERIES: 2 });
    const channel = freshChannel();
    const doomed = await member('doomed', channel, 'workers', { holdAcks: true });
    // It dies right after its second (last allowed) delivery of the event, before that one comes due.
    doomed.client.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; retryCount?: number };
      if (frame.type === 'event' && frame.retryCount === 1) doomed.client.socket.terminate();
    });
    const pub = await publisher();
    const [{ offset }] = (await publish(pub, channel, 1, 1)) as [{ offset: number; sentAt: number }];
    await waitUntil(() => doomed.receipts.length >= 1, 'the first delivery');
    const survivor = await member('survivor', channel, 'workers');
    await doomed.client.closed;
    expect(doomed.receipts.map((r) => r.retryCount)).toEqual([0, 1]);

    const failed = await survivor.client.next((f) => f.type === 'message.failed', 30_000);
    expect(failed).toMatchObject({ channel, offset, deliveryCount: 2, reason: 'max-deliveries' });
    expect(survivor.receipts).toEqual([]);
    const response = await fetch(`${server.url}/api/v1/channels/${channel}/dead-letters`, { headers: { authorization: `Bearer ${await server.token({ user: 'operator' })}` } });
    expect(await response.json()).toMatchObject({ letters: [{ offset, reason: 'max-deliveries' }] });
  });
});

describe('queue group member sessions', () => {
  it('a member that resumes its session before the idle time gets its own unacked events back; no other member is handed them', TIMEOUT, async () => {
    // A long idle time: the resume below comes long before it, however loaded the machine.
    server = await startTestServer({ ...GROUP_CONFIG, GROUP_IDLE_MS: 20_000 });
    const channel = freshChannel();
    const first = await member('worker', channel, 'workers', { holdAcks: true });
    const pub = await publisher();
    const held = (await publish(pub, channel, 1, 3)).map((p) => p.offset);
    await waitUntil(() => first.receipts.length >= 3, 'the member to hold three events');
    const other = await member('other', channel, 'workers');
    first.client.socket.terminate();
    await first.client.closed;
    // Same user, same session (the member name is the session id): it joins the group again.
    const again = await member('worker-again', channel, 'workers', { user: 'worker', sessionToken: first.sessionToken });
    await waitUntil(() => held.every((offset) => again.acked.includes(offset)), 'the resumed member to get and ack its own events');
    expect(again.receipts.filter((r) => held.includes(r.offset)).every((r) => r.retryCount >= 1)).toBe(true);
    expect(other.receipts.filter((r) => held.includes(r.offset))).toEqual([]);
  });
});

describe('queue group limits and refusals', () => {
  it('caps members per group and groups per organisation with typed errors; refuses filters and malformed names', TIMEOUT, async () => {
    server = await startTestServer({ ...GROUP_CONFIG, GROUP_MAX_MEMBERS: 2, GROUP_MAX_PER_ORGANIZATION: 1 });
    const channel = 'agent:jobs';
    const first = await member('m1', channel, 'workers');
    await member('m2', channel, 'workers');
    const third = await RawClient.connect(server.wsUrl, await server.token({ user: 'm3' }));
    clients.push(third);
    expect(await third.request({ type: 'subscribe', channels: [channel], group: 'workers' })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'queueGroupMembers', limit: 2 } },
    });
    // Another group of the same organisation (here: the same name on another channel is another group).
    expect(await third.request({ type: 'subscribe', channels: ['agent:other'], group: 'workers' })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_QUOTA_EXCEEDED', details: { quota: 'queueGroups', limit: 1 } },
    });
    // Another organisation has its own count.
    const foreign = await RawClient.connect(server.wsUrl, await server.token({ org: 'globex', user: 'g1' }));
    clients.push(foreign);
    expect(await foreign.request({ type: 'subscribe', channels: ['agent:other'], group: 'workers' })).toMatchObject({ ok: true });
    // A member leaving frees its place.
    expect(await first.client.request({ type: 'unsubscribe', channels: [channel] })).toMatchObject({ ok: true });
    expect(await third.request({ type: 'subscribe', channels: [channel], group: 'workers' })).toMatchObject({ ok: true });
    // Filters would settle excluded events for the whole group; a group name follows the segment rule.
    const other = await RawClient.connect(server.wsUrl, await server.token({ org: 'globex', user: 'g2' }));
    clients.push(other);
    expect(await other.request({ type: 'subscribe', channels: ['agent:other'], group: 'workers', filters: { types: ['job'] } })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_INVALID_REQUEST' },
    });
    expect(await other.request({ type: 'subscribe', channels: ['agent:other'], group: 'no:colons' })).toMatchObject({ ok: false });
    expect(await other.request({ type: 'subscribe', channels: ['agent:other'], group: '' })).toMatchObject({ ok: false });
  });
});
