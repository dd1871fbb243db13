import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let client: RawClient;
beforeAll(async () => {
  server = await startTestServer({ MAX_FRAME_BYTES: 64 * 1024 });
  client = await RawClient.connect(server.wsUrl, await server.token());
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

/** After every bad frame the same connection must still work: publish and get a position back. */
async function expectConnectionStillWorks(c: RawClient = client): Promise<void> {
  const reply = await c.request({ type: 'publish', channel: 'agent:alive', event: { type: 'note', payload: 'still here' } });
  expect(reply).toMatchObject({ ok: true, result: { offset: expect.any(Number) } });
}

const connectionError = (c: RawClient) => c.next((f) => f.type === 'connection.error');

describe('bad input on an open connection', () => {
  it('invalid JSON → connection.error APIX_ERR_BAD_JSON, connection stays', async () => {
    client.send('{"type": "publish", ');
    expect(await connectionError(client)).toMatchObject({ error: { code: 'APIX_ERR_BAD_JSON' } });
    await expectConnectionStillWorks();
  });

  it('a binary frame → APIX_ERR_BINARY_NOT_SUPPORTED, connection stays', async () => {
    client.socket.send(Buffer.from('{"type":"heartbeat.ping","id":"b1"}'), { binary: true });
    expect(await connectionError(client)).toMatchObject({ error: { code: 'APIX_ERR_BINARY_NOT_SUPPORTED' } });
    await expectConnectionStillWorks();
  });

  it('an unknown frame type → reply APIX_ERR_UNKNOWN_FRAME_TYPE with its id', async () => {
    expect(await client.request({ type: 'teleport' })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_UNKNOWN_FRAME_TYPE' } });
    client.send({ hello: 'world' });
    expect(await connectionError(client)).toMatchObject({ error: { code: 'APIX_ERR_UNKNOWN_FRAME_TYPE' } });
    client.send('[1,2,3]');
    expect(await connectionError(client)).toMatchObject({ error: { code: 'APIX_ERR_INVALID_FRAME' } });
    await expectConnectionStillWorks();
  });

  it('a schema violation → APIX_ERR_INVALID_FRAME naming the field', async () => {
    const reply = await client.request({ type: 'publish', channel: 'agent:x', event: { type: 'agent_status_update', payload: { agentId: 'a', status: 'dancing' } } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'APIX_ERR_INVALID_FRAME', details: { issues: [{ path: 'event.payload.status' }] } } });
    expect(await client.request({ type: 'subscribe', channels: ['agent:x'], extra: true })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_INVALID_FRAME' } });
    expect(await client.request({ type: 'publish', channel: 'agent:x', event: { type: 'connection.established', payload: {} } })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_EVENT_TYPE_RESERVED' },
    });
    client.send({ type: 'publish' }); // no id at all
    expect(await connectionError(client)).toMatchObject({ error: { code: 'APIX_ERR_INVALID_FRAME' } });
    await expectConnectionStillWorks();
  });

  it('a malformed channel name → APIX_ERR_CHANNEL_INVALID', async () => {
    for (const channel of ['agent:../x', 'Agent:x', 'agent:a b', 'agent:a\u0000', 'agent:*', 'agent:>', 'agent:#', 'agent:%41', 'аgent:x', 'acme/agent:x', '']) {
      const reply = await client.request({ type: 'subscribe', channels: [channel] });
      expect(reply, channel).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_INVALID' } });
    }
    expect(await client.request({ type: 'publish', channel: 'nope', event: { type: 'note' } })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_INVALID' } });
    await expectConnectionStillWorks();
  });

  it('a malformed position → APIX_ERR_POSITION_INVALID', async () => {
    const bad = [{ offset: -1, epoch: 'e' }, { offset: 1.5, epoch: 'e' }, { offset: '3', epoch: 'e' }, { offset: 1, epoch: '' }, { offset: 1, epoch: 'a b' }, { offset: 1 }];
    for (const since of bad) {
      expect(await client.request({ type: 'subscribe', channels: ['agent:p'], since: { 'agent:p': since } }), JSON.stringify(since)).toMatchObject({
        ok: false,
        error: { code: 'APIX_ERR_POSITION_INVALID' },
      });
      expect(await client.request({ type: 'history', channel: 'agent:p', since })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_POSITION_INVALID' } });
    }
    expect(await client.request({ type: 'subscribe', channels: ['agent:p'], since: { 'agent:q': { offset: 1, epoch: 'e' } } })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_POSITION_INVALID' },
    });
    await expectConnectionStillWorks();
  });

  it('a forbidden channel → APIX_ERR_CHANNEL_FORBIDDEN, and a subscribe is all or nothing', async () => {
    const reply = await client.request({ type: 'subscribe', channels: ['agent:ok', 'user:mallory'] });
    expect(reply).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    // agent:ok was not subscribed either: subscribing to it now succeeds.
    expect(await client.request({ type: 'subscribe', channels: ['agent:ok'] })).toMatchObject({ ok: true });
    expect(await client.request({ type: 'subscribe', channels: ['agent:ok'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_ALREADY_SUBSCRIBED' } });
    expect(await client.request({ type: 'unsubscribe', channels: ['agent:never'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_NOT_SUBSCRIBED' } });
    expect(await client.request({ type: 'history', channel: 'user:mallory' })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
  });

  it('acknowledgment: true is honoured, never silently ignored: events arrive marked for an ack', async () => {
    expect(await client.request({ type: 'subscribe', channels: ['agent:acked'], acknowledgment: true })).toMatchObject({ ok: true });
    await client.request({ type: 'publish', channel: 'agent:acked', event: { type: 'note', payload: 1 } });
    expect(await client.waitForEvents('agent:acked', 1)).toMatchObject([{ acknowledgment: true, retryCount: 0 }]);
  });

  it('a duplicate request id in flight → APIX_ERR_DUPLICATE_REQUEST_ID; the original still gets its reply', async () => {
    const frame = { type: 'publish', id: 'same-id', channel: 'agent:dup', event: { type: 'note', payload: 1 } };
    client.send(frame);
    client.send(frame);
    const first = await client.next((f) => f.type === 'reply' && f.id === 'same-id');
    const second = await client.next((f) => f.type === 'reply' && f.id === 'same-id');
    const replies = [first, second];
    expect(replies.filter((r) => r.ok === true)).toHaveLength(1);
    expect(replies.find((r) => r.ok === false)).toMatchObject({ error: { code: 'APIX_ERR_DUPLICATE_REQUEST_ID' } });
    const history = await client.request({ type: 'history', channel: 'agent:dup' });
    expect((history.result as { publications: unknown[] }).publications).toHaveLength(1);
  });

  it('a second connect frame → APIX_ERR_ALREADY_AUTHENTICATED', async () => {
    expect(await client.request({ type: 'connect', token: await server.token() })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_ALREADY_AUTHENTICATED' } });
    await expectConnectionStillWorks();
  });

  it('a frame over the size limit → close 1009; nothing acknowledged before it is lost', async () => {
    const victim = await RawClient.connect(server.wsUrl, await server.token());
    const acked = await victim.request({ type: 'publish', channel: 'agent:big', event: { type: 'note', payload: 'before' } });
    expect(acked.ok).toBe(true);
    victim.send({ type: 'publish', id: 'big', channel: 'agent:big', event: { type: 'note', payload: 'x'.repeat(70 * 1024) } });
    expect((await victim.closed).code).toBe(1009);
    const history = await client.request({ type: 'history', channel: 'agent:big' });
    expect((history.result as { publications: Array<{ event: { payload: string } }> }).publications.map((p) => p.event.payload)).toEqual(['before']);
    await expectConnectionStillWorks();
  });
});

describe('bad input before authentication', () => {
  it('a request before connect → APIX_ERR_NOT_AUTHENTICATED; connect still works afterwards', async () => {
    const fresh = await RawClient.open(server.wsUrl);
    expect(await fresh.request({ type: 'subscribe', channels: ['agent:x'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_NOT_AUTHENTICATED' } });
    expect(await fresh.request({ type: 'connect', token: await server.token() })).toMatchObject({ ok: true });
    await expectConnectionStillWorks(fresh);
    await fresh.close();
  });
});

describe('bad input over HTTP', () => {
  const post = async (channel: string, body: unknown, token?: string) =>
    fetch(`${server.url}/api/v1/channels/${channel}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('answers every failure with a catalogue code and the right status', async () => {
    const token = await server.token();
    const cases: Array<[Response, number, string]> = [
      [await post('agent:x', { type: 'note' }), 401, 'APIX_ERR_NOT_AUTHENTICATED'],
      [await post('agent:x', { type: 'note' }, 'not-a-jwt'), 401, 'APIX_ERR_AUTH_FAILED'],
      [await post('agent:x', '{oops', token), 400, 'APIX_ERR_INVALID_REQUEST'],
      [await post('agent:x', { type: 'agent_status_update', payload: {} }, token), 400, 'APIX_ERR_INVALID_REQUEST'],
      [await post('agent:x', { type: 'heartbeat.ping' }, token), 400, 'APIX_ERR_EVENT_TYPE_RESERVED'],
      [await post('Agent:x', { type: 'note' }, token), 400, 'APIX_ERR_CHANNEL_INVALID'],
      [await post('user:someone-else', { type: 'note' }, token), 403, 'APIX_ERR_CHANNEL_FORBIDDEN'],
      [await post('agent:x', { type: 'note', payload: 'x'.repeat(70 * 1024) }, token), 413, 'APIX_ERR_FRAME_TOO_LARGE'],
      [await fetch(`${server.url}/api/v1/channels/agent:x/history?sinceOffset=-1&sinceEpoch=e`, { headers: { authorization: `Bearer ${token}` } }), 400, 'APIX_ERR_POSITION_INVALID'],
      [await fetch(`${server.url}/api/v1/channels/agent:x/history?sinceOffset=1`, { headers: { authorization: `Bearer ${token}` } }), 400, 'APIX_ERR_POSITION_INVALID'],
      [await fetch(`${server.url}/api/v1/nothing-here`), 404, 'APIX_ERR_NOT_FOUND'],
    ];
    for (const [response, status, code] of cases) {
      expect({ status: response.status, body: await response.json() }, code).toMatchObject({ status, body: { error: { code } } });
    }
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
