import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

type EventFrame = { offset: number; epoch: string; event: { payload: number } };

describe('resume after a dropped connection', () => {
  it('a client killed while 1,000 events are published resumes with every event exactly once, in order', async () => {
    server = await startTestServer();
    const TOTAL = 1_000;
    const channel = 'agent:stream';
    const subscriber = await RawClient.connect(server.wsUrl, await server.token());
    await subscriber.request({ type: 'subscribe', channels: [channel] });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));

    // Publish in the background at a steady pace, so the kill and the resume both happen mid-stream.
    const replies: Array<Promise<unknown>> = [];
    let sent = 0;
    const publishing = (async () => {
      for (let i = 1; i <= TOTAL; i++) {
        replies.push(publisher.request({ type: 'publish', channel, event: { type: 'note', payload: i } }));
        sent = i;
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.all(replies);
    })();
    while (subscriber.events(channel).length < 200) await new Promise((r) => setTimeout(r, 1));
    subscriber.socket.terminate(); // no close handshake: the network dropped it
    const before = subscriber.events(channel) as unknown as EventFrame[];
    const last = before.at(-1)!;

    const resumed = await RawClient.connect(server.wsUrl, await server.token());
    const reply = await resumed.request({ type: 'subscribe', channels: [channel], since: { [channel]: { offset: last.offset, epoch: last.epoch } } });
    expect(reply).toMatchObject({ ok: true, result: { subscriptions: [{ channel, recovered: true, recovering: true }] } });
    expect(sent).toBeLessThan(TOTAL); // the resume really raced the publisher
    await publishing;
    const after = (await resumed.waitForEvents(channel, TOTAL - before.length)) as unknown as EventFrame[];
    await resumed.request({ type: 'heartbeat.ping' });

    const payloads = [...before, ...resumed.events(channel) as unknown as EventFrame[]].map((e) => e.event.payload);
    expect(payloads).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(after.every((e) => e.epoch === last.epoch)).toBe(true);
    await Promise.all([resumed.close(), publisher.close()]);
  });

  it('says recovered: false with the missed count when the position was trimmed', async () => {
    server = await startTestServer({ HISTORY_SIZE: 10 });
    const client = await RawClient.connect(server.wsUrl, await server.token());
    let epoch = '';
    for (let i = 1; i <= 30; i++) {
      const reply = await client.request({ type: 'publish', channel: 'agent:trim', event: { type: 'note', payload: i } });
      epoch = (reply.result as { epoch: string }).epoch;
    }
    const reply = await client.request({ type: 'subscribe', channels: ['agent:trim'], since: { 'agent:trim': { offset: 5, epoch } } });
    expect(reply.result).toMatchObject({ subscriptions: [{ recovered: false, recovering: true, missed: 25, position: { offset: 30, epoch } }] });
    await client.request({ type: 'publish', channel: 'agent:trim', event: { type: 'note', payload: 31 } });
    const events = (await client.waitForEvents('agent:trim', 1)) as unknown as EventFrame[];
    expect(events.map((e) => e.offset)).toEqual([31]); // no partial replay pretending to be complete
    await client.close();
  });

  it('says recovered: false when the epoch changed (the store lost the stream)', async () => {
    server = await startTestServer();
    const client = await RawClient.connect(server.wsUrl, await server.token());
    await client.request({ type: 'publish', channel: 'agent:epoch', event: { type: 'note', payload: 1 } });
    const reply = await client.request({ type: 'subscribe', channels: ['agent:epoch'], since: { 'agent:epoch': { offset: 1, epoch: 'gone' } } });
    expect(reply.result).toMatchObject({ subscriptions: [{ recovered: false, recovering: true }] });
    expect((reply.result as { subscriptions: Array<{ missed?: number }> }).subscriptions[0]!.missed).toBeUndefined();
    await client.close();
  });

  it('recovers exactly at the boundary: nothing missed, and from offset 0', async () => {
    server = await startTestServer();
    const client = await RawClient.connect(server.wsUrl, await server.token());
    const first = await client.request({ type: 'publish', channel: 'agent:edge', event: { type: 'note', payload: 1 } });
    const { epoch } = first.result as { epoch: string };
    const upToDate = await client.request({ type: 'subscribe', channels: ['agent:edge'], since: { 'agent:edge': { offset: 1, epoch } } });
    expect(upToDate.result).toMatchObject({ subscriptions: [{ recovered: true }] });
    await client.request({ type: 'unsubscribe', channels: ['agent:edge'] });
    const fromStart = await client.request({ type: 'subscribe', channels: ['agent:edge'], since: { 'agent:edge': { offset: 0, epoch } } });
    expect(fromStart.result).toMatchObject({ subscriptions: [{ recovered: true }] });
    expect(((await client.waitForEvents('agent:edge', 1)) as unknown as EventFrame[]).map((e) => e.offset)).toEqual([1]);
    await client.close();
  });
});
