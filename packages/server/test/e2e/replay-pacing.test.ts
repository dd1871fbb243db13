import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/**
 * ~6 MB of replay: the default send cap is 1 MiB, but on loopback the kernel's socket buffers
 * take up to ~4 MB more (tcp_wmem max) before anything waits in the connection's backlog; a
 * ~2 MB replay fits in them and would pass without pacing.
 */
const EVENTS = 2_000;
const PAYLOAD = 'r'.repeat(3_072);

async function publishMany(publisher: RawClient, channel: string, from: number, count: number): Promise<{ epoch: string }> {
  let epoch = '';
  for (let start = from; start < from + count; start += 200) {
    const replies = [];
    for (let i = start; i < Math.min(start + 200, from + count); i++) replies.push(publisher.request({ type: 'publish', channel, event: { type: 'note', payload: { i, pad: PAYLOAD } } }));
    for (const reply of await Promise.all(replies)) {
      if (reply.ok !== true) throw new Error(JSON.stringify(reply));
      epoch = (reply.result as { epoch: string }).epoch;
    }
  }
  return { epoch };
}

describe('replay pacing (ADR 0045)', () => {
  it('a resume whose replay is several times the send cap reaches a slowly reading client whole, in order, live events after it, without a 4004', async () => {
    // Defaults on purpose: MAX_SEND_BUFFER_BYTES is 1 MiB.
    server = await startTestServer();
    const channel = 'agent:replayed';
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    const { epoch } = await publishMany(publisher, channel, 1, EVENTS);

    const slow = await RawClient.connect(server.wsUrl, await server.token());
    let closedWith: number | undefined;
    void slow.closed.then((c) => (closedWith = c.code));
    const tcp = (slow.socket as unknown as { _socket: Socket })._socket;
    // The network stalls as the resume goes out: nothing is read while the server replays.
    tcp.pause();
    const reply = slow.request({ type: 'subscribe', channels: [channel], since: { [channel]: { offset: 0, epoch } } });
    // Live publications arrive while the replay waits for the socket: they must follow it, in order.
    await publishMany(publisher, channel, EVENTS + 1, 50);
    await new Promise((r) => setTimeout(r, 500));

    // Then it reads slowly: a short read now and then, until everything arrived (or it was closed).
    const total = EVENTS + 50;
    const deadline = performance.now() + 60_000;
    while (slow.events(channel).length < total && closedWith === undefined && performance.now() < deadline) {
      tcp.resume();
      await new Promise((r) => setTimeout(r, 5));
      tcp.pause();
      await new Promise((r) => setTimeout(r, 25));
    }
    tcp.resume();
    expect(closedWith).toBeUndefined();
    expect(await reply).toMatchObject({ ok: true, result: { subscriptions: [{ recovered: true }] } });
    const received = slow.events(channel);
    expect(received.map((e) => e.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(received.map((e) => (e.event as { payload: { i: number } }).payload.i)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Still open and live.
    await publishMany(publisher, channel, total + 1, 1);
    expect((await slow.waitForEvents(channel, total + 1)).at(-1)!.offset).toBe(total + 1);
    await Promise.all([slow.close(), publisher.close()]);
  }, 120_000);
});
