import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** GET /api/v1/channels/:channel/presence on the embedded engine. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const presence = async (channel: string, token: string) => {
  const response = await fetch(`${server.url}/api/v1/channels/${channel}/presence`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('presence API', () => {
  it('lists the members of a room while they are subscribed', async () => {
    const alice = await RawClient.connect(server.wsUrl, await server.token({ user: 'alice' }));
    await alice.request({ type: 'subscribe', channels: ['room:standup'] });
    const listed = await presence('room:standup', await server.token({ user: 'carol' }));
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ channel: 'room:standup', stats: { clients: 1, users: 1 }, members: [{ userId: 'alice', clientId: expect.any(String) }] });
    await alice.request({ type: 'unsubscribe', channels: ['room:standup'] });
    await expect.poll(async () => (await presence('room:standup', await server.token())).body.stats).toEqual({ clients: 0, users: 0 });
    await alice.close();
  });

  it('does not announce subscribers of channels that carry no presence', async () => {
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    await bob.request({ type: 'subscribe', channels: ['agent:a1'] });
    expect((await presence('agent:a1', await server.token())).body).toMatchObject({ stats: { clients: 0, users: 0 } });
    await bob.close();
  });

  it("refuses a malformed channel and another user's private channel with the catalogue codes", async () => {
    expect(await presence('nope', await server.token())).toMatchObject({ status: 400, body: { error: { code: 'APIX_ERR_CHANNEL_INVALID' } } });
    expect(await presence('user:bob', await server.token({ user: 'alice' }))).toMatchObject({ status: 403, body: { error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } } });
  });

  it('answers the presence frame over WebSocket with the same result', async () => {
    const alice = await RawClient.connect(server.wsUrl, await server.token({ user: 'alice' }));
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    await alice.request({ type: 'subscribe', channels: ['room:ws'] });
    await bob.request({ type: 'subscribe', channels: ['room:ws'] });
    const reply = await alice.request({ type: 'presence', channel: 'room:ws' });
    expect(reply).toMatchObject({ ok: true, result: { channel: 'room:ws', stats: { clients: 2, users: 2 } } });
    const refused = await alice.request({ type: 'presence', channel: 'user:bob' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('announces joins and leaves on the room itself, in its order; clients may not forge them', async () => {
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    await bob.request({ type: 'subscribe', channels: ['room:announce'] });
    const alice = await RawClient.connect(server.wsUrl, await server.token({ user: 'alice' }));
    await alice.request({ type: 'subscribe', channels: ['room:announce'] });
    const joined = await bob.next((f) => f.type === 'event' && (f.event as { type: string; payload: { userId: string } }).type === 'presence.join' && (f.event as { payload: { userId: string } }).payload.userId === 'alice');
    expect(joined).toMatchObject({ channel: 'room:announce', event: { payload: { userId: 'alice', clientId: expect.any(String) } } });
    await alice.close();
    const left = await bob.next((f) => f.type === 'event' && (f.event as { type: string }).type === 'presence.leave');
    expect(left).toMatchObject({ event: { payload: { userId: 'alice' } } });
    expect((left.offset as number) > (joined.offset as number)).toBe(true);
    const forged = await bob.request({ type: 'publish', channel: 'room:announce', event: { type: 'presence.leave', payload: { userId: 'carol' } } });
    expect(forged).toMatchObject({ ok: false, error: { code: 'APIX_ERR_EVENT_TYPE_RESERVED' } });
    await bob.close();
  });
});

describe('the channel setting `presence`', () => {
  const admin = () => server.token({ user: 'ada', roles: ['admin'] });
  async function configure(method: 'POST' | 'PATCH', channel: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${server.url}/api/v1/channels${method === 'POST' ? '' : `/${channel}`}`, {
      method,
      headers: { authorization: `Bearer ${await admin()}`, 'content-type': 'application/json' },
      body: JSON.stringify(method === 'POST' ? { name: channel, ...body } : body),
    });
    expect(response.status).toBe(method === 'POST' ? 201 : 200);
    return (await response.json()) as Record<string, unknown>;
  }
  const isPresence = (type: string, userId: string) => (f: Record<string, unknown>) =>
    f.type === 'event' && (f.event as { type: string }).type === type && (f.event as { payload: { userId: string } }).payload.userId === userId;

  it('turns presence on for a channel outside the room namespace: members, joins and the request', async () => {
    expect(await configure('POST', 'agent:standup', { presence: true })).toMatchObject({ name: 'agent:standup', presence: true });
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    await bob.request({ type: 'subscribe', channels: ['agent:standup'] });
    const alice = await RawClient.connect(server.wsUrl, await server.token({ user: 'alice' }));
    await alice.request({ type: 'subscribe', channels: ['agent:standup'] });
    await bob.next(isPresence('presence.join', 'alice'));
    expect(await alice.request({ type: 'presence', channel: 'agent:standup' })).toMatchObject({ ok: true, result: { stats: { clients: 2, users: 2 } } });
    expect((await presence('agent:standup', await server.token())).body).toMatchObject({ stats: { clients: 2, users: 2 } });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('turns presence off for a room: its subscribers leave at once, newcomers are not announced', async () => {
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    await bob.request({ type: 'subscribe', channels: ['room:quiet'] });
    await expect.poll(async () => (await presence('room:quiet', await server.token())).body.stats).toEqual({ clients: 1, users: 1 });
    await configure('POST', 'room:quiet', { presence: false });
    await bob.next(isPresence('presence.leave', 'bob'));
    expect((await presence('room:quiet', await server.token())).body).toMatchObject({ members: [], stats: { clients: 0, users: 0 } });
    const alice = await RawClient.connect(server.wsUrl, await server.token({ user: 'alice' }));
    await alice.request({ type: 'subscribe', channels: ['room:quiet'] });
    // An event published after alice subscribed arrives; no presence.join for her came before it.
    await alice.request({ type: 'publish', channel: 'room:quiet', event: { type: 'note', payload: {} } });
    await bob.next((f) => f.type === 'event' && (f.event as { type: string }).type === 'note');
    expect(bob.frames.some(isPresence('presence.join', 'alice'))).toBe(false);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('follows a change made while clients are subscribed: they become members when presence is switched on', async () => {
    await configure('POST', 'agent:late', {});
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    await bob.request({ type: 'subscribe', channels: ['agent:late'] });
    expect((await presence('agent:late', await server.token())).body).toMatchObject({ stats: { clients: 0 } });
    expect(await configure('PATCH', 'agent:late', { presence: true })).toMatchObject({ presence: true });
    await bob.next(isPresence('presence.join', 'bob'));
    expect((await presence('agent:late', await server.token())).body).toMatchObject({ stats: { clients: 1, users: 1 } });
    expect(await configure('PATCH', 'agent:late', { presence: null })).toMatchObject({ presence: null });
    await bob.next(isPresence('presence.leave', 'bob'));
    await bob.close();
  });
});
