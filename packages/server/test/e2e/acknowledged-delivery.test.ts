import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redeliveryBoundsMs, type DeliveryPolicy } from '../../src/realtime/delivery-policy.js';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Acknowledged delivery end to end (delivery contract line 5), on the memory engine and on the
 * real Redis (consumer groups on the broker's streams): redelivery count and delays, dead
 * letter + message.failed + audit row, acked events never resent, the in-flight window, and
 * the dead-letter HTTP API with its permission and tenant checks.
 */
const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `apixtest-ack-${process.pid}-${Date.now()}`;

/** Small numbers so a full redelivery cycle takes about a second. */
const POLICY: DeliveryPolicy = { ackTimeoutMs: 150, baseMs: 100, factor: 2, capMs: 300, maxDeliveries: 4, window: 100 };
const ACK_CONFIG = {
  ACK_TIMEOUT_MS: POLICY.ackTimeoutMs,
  ACK_RETRY_BASE_MS: POLICY.baseMs,
  ACK_RETRY_FACTOR: POLICY.factor,
  ACK_RETRY_CAP_MS: POLICY.capMs,
  ACK_MAX_DELIVERIES: POLICY.maxDeliveries,
};
/** Timers fire late on a busy 2-core CI box, never early (1 ms of rounding aside): only the upper bound gets slack. */
const LATE_SLACK_MS = 2_000;
/** A server start takes most of it; on a loaded 2-core machine that alone can pass 20 s. */
const TIMEOUT = { timeout: 60_000 };

type Frame = Record<string, unknown> & { type: string };
type EventFrame = Frame & { channel: string; offset: number; epoch: string; acknowledgment?: true; retryCount?: number; event: { payload: unknown } };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
afterAll(() => deleteKeysWithPrefix(REDIS_URL, PREFIX));

const engines = [
  { name: 'memory engine', config: {} },
  { name: 'Redis engine', config: { REDIS_URL, REDIS_KEY_PREFIX: `${PREFIX}-${Math.random().toString(36).slice(2, 8)}` } },
] as const;

async function http(method: string, path: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server!.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Records when each event frame arrived (monotonic), to check redelivery delays against their bounds. */
function stampArrivals(client: RawClient): Array<{ at: number; frame: EventFrame }> {
  const arrivals: Array<{ at: number; frame: EventFrame }> = [];
  client.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as EventFrame;
    if (frame.type === 'event') arrivals.push({ at: performance.now(), frame });
  });
  return arrivals;
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

describe.each(engines)('acknowledged delivery ($name)', ({ config }) => {
  it('an event never acked is delivered exactly maxDeliveries times within the jitter bounds, then dead-lettered with message.failed and an audit row; nothing else is disturbed', TIMEOUT, async () => {
    server = await startTestServer({ ...config, ...ACK_CONFIG });
    const channel = 'agent:acked';
    const withholder = await RawClient.connect(server.wsUrl, await server.token({ user: 'withholder' }));
    const arrivals = stampArrivals(withholder);
    const bystander = await RawClient.connect(server.wsUrl, await server.token({ user: 'bystander' }));
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    expect(await withholder.request({ type: 'subscribe', channels: [channel], acknowledgment: true })).toMatchObject({ ok: true });
    expect(await withholder.request({ type: 'subscribe', channels: ['agent:plain'] })).toMatchObject({ ok: true });
    expect(await bystander.request({ type: 'subscribe', channels: [channel], acknowledgment: true })).toMatchObject({ ok: true });
    // The withholder acks everything but offset 2; the bystander acks everything.
    withholder.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as EventFrame;
      if (frame.type === 'event' && frame.channel === channel && frame.offset !== 2) withholder.send({ type: 'ack', id: `a${frame.offset}-${frame.retryCount}`, channel, offsets: [frame.offset] });
    });
    bystander.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as EventFrame;
      if (frame.type === 'event') bystander.send({ type: 'ack', id: `b${frame.offset}-${frame.retryCount}`, channel, upTo: frame.offset });
    });
    const publishedAt: number[] = [];
    for (let i = 1; i <= 3; i++) {
      publishedAt[i] = performance.now();
      await publisher.request({ type: 'publish', channel, event: { type: 'note', payload: i } });
    }
    await publisher.request({ type: 'publish', channel: 'agent:plain', event: { type: 'note', payload: 'plain' } });

    const failed = await withholder.next((f) => f.type === 'message.failed', 15_000);
    const failedAt = performance.now();
    expect(failed).toMatchObject({ type: 'message.failed', channel, offset: 2, deliveryCount: POLICY.maxDeliveries, reason: 'max-deliveries' });

    const onChannel = arrivals.filter((a) => a.frame.channel === channel);
    const second = onChannel.filter((a) => a.frame.offset === 2);
    // Exactly maxDeliveries deliveries (maxDeliveries - 1 redeliveries), each saying truthfully which retry it is.
    expect(second.map((a) => a.frame.retryCount)).toEqual([0, 1, 2, 3]);
    expect(second.every((a) => a.frame.acknowledgment === true)).toBe(true);
    // Delivery n+1 follows delivery n after ackTimeout + full jitter with ceiling min(cap, base·factor^(n-1)).
    // Arrival times carry the test process's own scheduling delays, which only ever make an
    // arrival later. So the lower bounds are taken from the moment the event was published
    // (the k-th redelivery cannot be sent before k ack timeouts passed), and each gap between
    // arrivals gets the upper bound plus slack (a late earlier arrival only shortens it).
    const arrivals2 = [...second.map((a) => a.at), failedAt];
    arrivals2.slice(1).forEach((at, k) => {
      expect(at - publishedAt[2]!, `time to delivery/failure ${k + 2}`).toBeGreaterThanOrEqual((k + 1) * POLICY.ackTimeoutMs - 2);
      expect(at - arrivals2[k]!, `gap after delivery ${k + 1}`).toBeLessThanOrEqual(redeliveryBoundsMs(POLICY, k + 1).max + LATE_SLACK_MS);
    });
    // Acked events were never sent again, and the other channel is broadcast as before.
    expect(onChannel.filter((a) => a.frame.offset !== 2).map((a) => [a.frame.offset, a.frame.retryCount])).toEqual([[1, 0], [3, 0]]);
    const plain = arrivals.filter((a) => a.frame.channel === 'agent:plain');
    expect(plain.map((a) => a.frame.acknowledgment)).toEqual([undefined]);
    // The bystander on the same channel got each event once and nothing failed for it.
    const bystanderEvents = bystander.events(channel) as EventFrame[];
    expect(bystanderEvents.map((e) => [e.offset, e.retryCount])).toEqual([[1, 0], [2, 0], [3, 0]]);
    expect(bystander.frames.filter((f) => f.type === 'message.failed')).toEqual([]);

    await server.controlPlane.audit.flush();
    const rows = (await server.repositories.audit.query('acme', { action: 'message.failed' })).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel, actorId: 'withholder', outcome: 'failure', details: { offset: 2, deliveryCount: POLICY.maxDeliveries } });

    // The dead letter is listed, and redelivering it hands it to the same subscription again.
    const token = await server.token({ user: 'operator' });
    const listed = await http('GET', `/api/v1/channels/${channel}/dead-letters`, token);
    expect(listed.status).toBe(200);
    const letters = listed.body.letters as Array<{ id: string; offset: number; deliveryCount: number; event: { payload: unknown } }>;
    expect(letters).toMatchObject([{ offset: 2, deliveryCount: POLICY.maxDeliveries, reason: 'max-deliveries', event: { payload: 2 } }]);
    const redelivered = await http('POST', `/api/v1/channels/${channel}/dead-letters/${letters[0]!.id}/redeliver`, token);
    expect(redelivered).toMatchObject({ status: 200, body: { offset: 2, redelivered: true } });
    await waitFor(() => onChannel.length < arrivals.filter((a) => a.frame.channel === channel).length, 'the redelivered letter');
    const again = arrivals.filter((a) => a.frame.channel === channel).at(-1)!.frame;
    expect(again).toMatchObject({ offset: 2, retryCount: POLICY.maxDeliveries });
    expect(await withholder.request({ type: 'ack', channel, offsets: [2] })).toMatchObject({ ok: true, result: { acked: 1 } });
    expect((await http('GET', `/api/v1/channels/${channel}/dead-letters`, token)).body.letters).toEqual([]);
    await server.controlPlane.audit.flush();
    expect((await server.repositories.audit.query('acme', { action: 'message.redelivered' })).rows).toMatchObject([{ channel, actorId: 'operator', target: letters[0]!.id }]);
    await Promise.all([withholder.close(), bystander.close(), publisher.close()]);
  });

  it('keeps at most the window unacked, resumes reading on ack, and a cumulative ack settles everything up to it', TIMEOUT, async () => {
    server = await startTestServer({ ...config, ...ACK_CONFIG, ACK_WINDOW: 3, ACK_TIMEOUT_MS: 30_000 });
    const channel = 'agent:window';
    const client = await RawClient.connect(server.wsUrl, await server.token());
    await client.request({ type: 'subscribe', channels: [channel], acknowledgment: true });
    for (let i = 1; i <= 8; i++) await client.request({ type: 'publish', channel, event: { type: 'note', payload: i } });
    await client.waitForEvents(channel, 3);
    // A round trip later nothing more came: the window is full.
    await client.request({ type: 'heartbeat.ping' });
    expect((client.events(channel) as EventFrame[]).map((e) => e.offset)).toEqual([1, 2, 3]);
    expect(await client.request({ type: 'ack', channel, upTo: 2 })).toMatchObject({ ok: true, result: { acked: 2 } });
    await client.waitForEvents(channel, 5);
    expect((client.events(channel) as EventFrame[]).map((e) => e.offset)).toEqual([1, 2, 3, 4, 5]);
    // Repeated and unknown offsets are harmless.
    expect(await client.request({ type: 'ack', channel, offsets: [1, 2, 99] })).toMatchObject({ ok: true, result: { acked: 0 } });
    expect(await client.request({ type: 'ack', channel, upTo: 8 })).toMatchObject({ ok: true, result: { acked: 3 } });
    await client.waitForEvents(channel, 8);
    expect((client.events(channel) as EventFrame[]).map((e) => e.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await client.close();
  });
});

describe('acknowledged delivery: refusals and tenancy', () => {
  // One server for both (its ack settings dead-letter at the first timeout).
  let shared: TestServer;
  beforeAll(async () => {
    shared = await startTestServer({ ...ACK_CONFIG, ACK_MAX_DELIVERIES: 1, ACK_TIMEOUT_MS: 20 });
  }, 60_000);
  afterAll(() => shared.stop());
  const httpOn = async (method: string, path: string, token: string) => {
    const response = await fetch(`${shared.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('refuses acks on broadcast subscriptions and unsubscribed channels, and malformed ack frames', async () => {
    const client = await RawClient.connect(shared.wsUrl, await shared.token());
    await client.request({ type: 'subscribe', channels: ['agent:b'] });
    expect(await client.request({ type: 'ack', channel: 'agent:b', upTo: 1 })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_INVALID_REQUEST' } });
    expect(await client.request({ type: 'ack', channel: 'agent:none', upTo: 1 })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_NOT_SUBSCRIBED' } });
    expect(await client.request({ type: 'ack', channel: 'agent:b', upTo: 1, offsets: [1] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_INVALID_FRAME' } });
    expect(await client.request({ type: 'ack', channel: 'agent:b' })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_INVALID_FRAME' } });
    await client.close();
  });

  it("dead letters are the organisation's own: another tenant sees none and cannot redeliver them; a channel the caller may not read is refused", async () => {
    const channel = 'agent:dlq';
    const client = await RawClient.connect(shared.wsUrl, await shared.token());
    await client.request({ type: 'subscribe', channels: [channel], acknowledgment: true });
    await client.request({ type: 'publish', channel, event: { type: 'note', payload: 'x' } });
    await client.next((f) => f.type === 'message.failed', 10_000);
    const acme = await httpOn('GET', `/api/v1/channels/${channel}/dead-letters`, await shared.token());
    const [letter] = acme.body.letters as Array<{ id: string }>;
    expect(letter).toBeDefined();

    const globex = await shared.token({ org: 'globex', user: 'mallory' });
    expect(await httpOn('GET', `/api/v1/channels/${channel}/dead-letters`, globex)).toMatchObject({ status: 200, body: { letters: [] } });
    expect(await httpOn('POST', `/api/v1/channels/${channel}/dead-letters/${letter!.id}/redeliver`, globex)).toMatchObject({ status: 404, body: { error: { code: 'APIX_ERR_NOT_FOUND' } } });
    // Someone else's private channel: the same refusal as for a channel that does not exist.
    const bob = await shared.token({ user: 'bob' });
    expect(await httpOn('GET', '/api/v1/channels/user:alice/dead-letters', bob)).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } } });
    expect(await httpOn('POST', `/api/v1/channels/user:alice/dead-letters/${letter!.id}/redeliver`, bob)).toMatchObject({ status: 403 });
    expect(await httpOn('GET', `/api/v1/channels/${channel}/dead-letters?after=nonsense`, bob)).toMatchObject({ status: 400 });
    expect(await httpOn('GET', `/api/v1/channels/${channel}/dead-letters`, 'not-a-token')).toMatchObject({ status: 401 });
    // Still there for its own organisation.
    expect((await httpOn('GET', `/api/v1/channels/${channel}/dead-letters`, await shared.token())).body.letters).toHaveLength(1);
    await client.close();
  });

  it("a channel's stored delivery policy and acknowledgmentRequired override the server's settings", async () => {
    const channel = 'workflow:policy';
    // The server dead-letters at the first timeout (max 1); this channel allows 3 deliveries.
    await shared.repositories.channels.create('acme', channel, { acknowledgmentRequired: true, deliveryPolicy: { maxDeliveries: 3, ackTimeoutMs: 30, baseMs: 10, capMs: 20 } });
    await shared.controlPlane.accessChanged({ kind: 'channel', organizationId: 'acme', channel });
    const client = await RawClient.connect(shared.wsUrl, await shared.token());
    await client.request({ type: 'subscribe', channels: [channel] }); // no acknowledgment asked: the channel requires it
    await client.request({ type: 'publish', channel, event: { type: 'note', payload: 1 } });
    expect(await client.next((f) => f.type === 'message.failed', 10_000)).toMatchObject({ channel, offset: 1, deliveryCount: 3 });
    expect((client.events(channel) as EventFrame[]).map((e) => e.retryCount)).toEqual([0, 1, 2]);
    await client.close();
  });

  it('an acknowledged subscribe with since replays through its group what follows it, and says recovered', async () => {
    const channel = 'workflow:resume-acked';
    await shared.repositories.channels.create('acme', channel, { deliveryPolicy: { ackTimeoutMs: 60_000 } });
    await shared.controlPlane.accessChanged({ kind: 'channel', organizationId: 'acme', channel });
    const client = await RawClient.connect(shared.wsUrl, await shared.token());
    let epoch = '';
    for (let i = 1; i <= 5; i++) epoch = ((await client.request({ type: 'publish', channel, event: { type: 'note', payload: i } })).result as { epoch: string }).epoch;
    const reply = await client.request({ type: 'subscribe', channels: [channel], acknowledgment: true, since: { [channel]: { offset: 2, epoch } } });
    expect(reply).toMatchObject({ ok: true, result: { subscriptions: [{ channel, recovered: true, recovering: true, position: { offset: 5, epoch } }] } });
    const events = (await client.waitForEvents(channel, 3)) as EventFrame[];
    expect(events.map((e) => [e.offset, e.acknowledgment, e.retryCount])).toEqual([[3, true, 0], [4, true, 0], [5, true, 0]]);
    expect(await client.request({ type: 'ack', channel, upTo: 5 })).toMatchObject({ ok: true, result: { acked: 3 } });
    await client.close();
  });
});
