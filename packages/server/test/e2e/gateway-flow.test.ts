import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const agentEvent = (status: string) => ({ type: 'agent_status_update', payload: { agentId: 'a1', status } });

describe('gateway flow', () => {
  it('authenticates with a connect frame and announces the connection', async () => {
    const client = await RawClient.open(server.wsUrl);
    const reply = await client.request({ type: 'connect', token: await server.token(), clientType: 'WEB_APP' });
    expect(reply).toMatchObject({ ok: true, result: { connectionId: expect.any(String), sessionId: expect.any(String) } });
    const established = await client.next((f) => f.type === 'connection.established');
    expect(established).toMatchObject({ organizationId: 'acme', userId: 'alice', heartbeatIntervalMs: expect.any(Number) });
    expect(established.connectionId).toBe((reply.result as { connectionId: string }).connectionId);
    await client.close();
  });

  it('authenticates with Authorization: Bearer at upgrade', async () => {
    const client = await RawClient.open(server.wsUrl, { headers: { authorization: `Bearer ${await server.token({ user: 'bob' })}` } });
    const established = await client.next((f) => f.type === 'connection.established');
    expect(established.userId).toBe('bob');
    expect((await client.request({ type: 'subscribe', channels: ['org:news'] })).ok).toBe(true);
    await client.close();
  });

  it('delivers events between two clients in order, reply before subscription.added before events', async () => {
    const alice = await RawClient.connect(server.wsUrl, await server.token());
    const bob = await RawClient.connect(server.wsUrl, await server.token({ user: 'bob' }));
    const sub = await bob.request({ type: 'subscribe', channels: ['agent:a1'] });
    expect(sub).toMatchObject({ ok: true, result: { subscriptions: [{ channel: 'agent:a1', channelType: 'AGENT_EVENTS', recovered: false, recovering: false }] } });
    for (const status of ['thinking', 'running', 'completed']) {
      const published = await alice.request({ type: 'publish', channel: 'agent:a1', event: agentEvent(status) });
      expect(published).toMatchObject({ ok: true, result: { channel: 'agent:a1', offset: expect.any(Number), epoch: expect.any(String), duplicate: false } });
    }
    const events = await bob.waitForEvents('agent:a1', 3);
    expect(events.map((e) => (e.event as { payload: { status: string } }).payload.status)).toEqual(['thinking', 'running', 'completed']);
    expect(events.map((e) => e.offset)).toEqual([1, 2, 3]);
    expect(events[0]).toMatchObject({ epoch: expect.any(String), event: { type: 'agent_status_update', metadata: { timestamp: expect.any(Number), version: '1' } } });
    const kinds = bob.frames.map((f) => f.type);
    expect(kinds.indexOf('subscription.added')).toBeLessThan(kinds.indexOf('event'));
    await Promise.all([alice.close(), bob.close()]);
  });

  it('routes an HTTP publish to a WebSocket subscriber', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    await client.request({ type: 'subscribe', channels: ['workflow:w1'] });
    const response = await fetch(`${server.url}/api/v1/channels/workflow:w1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.token({ user: 'svc', roles: ['service'] })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'workflow_state_change', payload: { workflowId: 'w1', to: 'done' }, metadata: { correlation_id: 'c-1' } }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { offset: number; epoch: string };
    const [event] = await client.waitForEvents('workflow:w1', 1);
    expect(event).toMatchObject({ offset: body.offset, epoch: body.epoch, event: { payload: { workflowId: 'w1', to: 'done' }, metadata: { correlation_id: 'c-1' } } });
    await client.close();
  });

  it('serves history over WebSocket and HTTP, with positions', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    const first = await client.request({ type: 'publish', channel: 'tool:t1', event: { type: 'tool_call_start', payload: { toolCallId: 'c1', toolName: 'search' } } });
    await client.request({ type: 'publish', channel: 'tool:t1', event: { type: 'tool_call_result', payload: { toolCallId: 'c1', result: { hits: 3 } } } });
    const { epoch } = first.result as { epoch: string };
    const all = await client.request({ type: 'history', channel: 'tool:t1' });
    expect(all.result).toMatchObject({ channel: 'tool:t1', epoch, position: { offset: 2, epoch }, complete: true });
    expect((all.result as { publications: unknown[] }).publications).toHaveLength(2);
    const after1 = await client.request({ type: 'history', channel: 'tool:t1', since: { offset: 1, epoch } });
    expect((after1.result as { publications: Array<{ offset: number }> }).publications.map((p) => p.offset)).toEqual([2]);
    const http = await fetch(`${server.url}/api/v1/channels/tool:t1/history?sinceOffset=0&sinceEpoch=${epoch}&limit=1`, {
      headers: { authorization: `Bearer ${await server.token()}` },
    });
    expect(http.status).toBe(200);
    expect(await http.json()).toMatchObject({ publications: [{ offset: 1, event: { type: 'tool_call_start' } }], complete: true });
    const otherEpoch = await client.request({ type: 'history', channel: 'tool:t1', since: { offset: 1, epoch: 'other' } });
    expect(otherEpoch.result).toMatchObject({ complete: false });
    await client.close();
  });

  it('answers a history frame with exactly what the HTTP history route answers, stored JSON spliced in as it was published', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    const payloads = [{ text: 'é 😀 "quoted" \\ back\nslash', nested: { list: [1, 2.5, -0.125, null, true], deep: { a: [{ b: 'c' }] } } }, [], 'plain', 12345678901234, null];
    let epoch = '';
    for (const payload of payloads) {
      const reply = await client.request({ type: 'publish', channel: 'tool:spliced', event: { type: 'note', payload, metadata: { region: 'eu' } } });
      epoch = (reply.result as { epoch: string }).epoch;
    }
    const http = async (query: string, channel = 'tool:spliced') =>
      (await fetch(`${server.url}/api/v1/channels/${channel}/history${query}`, { headers: { authorization: `Bearer ${await server.token()}` } })).json();
    const overWs = await client.request({ type: 'history', channel: 'tool:spliced' });
    expect(overWs.result).toEqual(await http(''));
    expect((overWs.result as { publications: Array<{ event: { payload: unknown } }> }).publications.map((p) => p.event.payload)).toEqual(payloads);
    const since = await client.request({ type: 'history', channel: 'tool:spliced', since: { offset: 2, epoch }, limit: 2 });
    expect(since.result).toEqual(await http(`?sinceOffset=2&sinceEpoch=${epoch}&limit=2`));
    const empty = await client.request({ type: 'history', channel: 'tool:nothing-here' });
    expect(empty.result).toEqual(await http('', 'tool:nothing-here'));
    expect((empty.result as { publications: unknown[] }).publications).toEqual([]);
    await client.close();
  });

  it('applies filters on the server: by type and by payload/metadata equality', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    await client.request({
      type: 'subscribe',
      channels: ['tool:filtered'],
      filters: { types: ['tool_call_error'], payload: { 'error.code': 'TIMEOUT' }, metadata: { region: 'eu' } },
    });
    const publish = (event: unknown) => client.request({ type: 'publish', channel: 'tool:filtered', event });
    await publish({ type: 'tool_call_start', payload: { toolCallId: 'x', toolName: 't' }, metadata: { region: 'eu' } });
    await publish({ type: 'tool_call_error', payload: { toolCallId: 'x', error: { message: 'm', code: 'OTHER' } }, metadata: { region: 'eu' } });
    await publish({ type: 'tool_call_error', payload: { toolCallId: 'x', error: { message: 'm', code: 'TIMEOUT' } }, metadata: { region: 'us' } });
    await publish({ type: 'tool_call_error', payload: { toolCallId: 'y', error: { message: 'm', code: 'TIMEOUT' } }, metadata: { region: 'eu' } });
    await client.request({ type: 'heartbeat.ping' }); // a round trip: everything published has been routed
    const events = client.events('tool:filtered');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ offset: 4, event: { payload: { toolCallId: 'y' } } });
    await client.close();
  });

  it('unsubscribes: reply, subscription.removed, and no more events', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    await client.request({ type: 'subscribe', channels: ['workflow:r1', 'workflow:r2'] });
    const reply = await client.request({ type: 'unsubscribe', channels: ['workflow:r1'] });
    expect(reply).toMatchObject({ ok: true, result: { channels: ['workflow:r1'] } });
    expect(await client.next((f) => f.type === 'subscription.removed')).toMatchObject({ channel: 'workflow:r1', reason: 'unsubscribed' });
    await client.request({ type: 'publish', channel: 'workflow:r1', event: { type: 'note', payload: 1 } });
    await client.request({ type: 'publish', channel: 'workflow:r2', event: { type: 'note', payload: 2 } });
    await client.waitForEvents('workflow:r2', 1);
    expect(client.events('workflow:r1')).toHaveLength(0);
    await client.close();
  });

  it('answers a publish retried with the same idempotency key with the first position', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    const frame = { type: 'publish', channel: 'agent:idem', event: agentEvent('running'), idempotencyKey: 'k-1' };
    const first = await client.request(frame);
    const retry = await client.request(frame);
    expect(retry.result).toMatchObject({ offset: (first.result as { offset: number }).offset, duplicate: true });
    const history = await client.request({ type: 'history', channel: 'agent:idem' });
    expect((history.result as { publications: unknown[] }).publications).toHaveLength(1);
    await client.close();
  });

  it('answers heartbeat.ping with heartbeat.pong echoing ts', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token());
    const pong = await client.request({ type: 'heartbeat.ping', ts: 1234 });
    expect(pong).toMatchObject({ type: 'heartbeat.pong', ts: 1234, serverTime: expect.any(Number) });
    await client.close();
  });

  it('keeps private user channels to their user and system publishing to admins and services', async () => {
    const alice = await RawClient.connect(server.wsUrl, await server.token());
    expect((await alice.request({ type: 'subscribe', channels: ['user:alice'] })).ok).toBe(true);
    const denied = await alice.request({ type: 'subscribe', channels: ['user:bob'] });
    expect(denied).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    const systemPublish = await alice.request({ type: 'publish', channel: 'system:notices', event: { type: 'system_notification', payload: { level: 'info', message: 'hi' } } });
    expect(systemPublish).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    expect((await alice.request({ type: 'subscribe', channels: ['system:notices'] })).ok).toBe(true);
    const admin = await RawClient.connect(server.wsUrl, await server.token({ user: 'root', roles: ['admin'] }));
    expect((await admin.request({ type: 'publish', channel: 'system:notices', event: { type: 'system_notification', payload: { level: 'info', message: 'hi' } } })).ok).toBe(true);
    await alice.waitForEvents('system:notices', 1);
    await Promise.all([alice.close(), admin.close()]);
  });

  it('keeps organisations apart: the same channel name in two organisations are two channels', async () => {
    const acme = await RawClient.connect(server.wsUrl, await server.token({ org: 'acme' }));
    const globex = await RawClient.connect(server.wsUrl, await server.token({ org: 'globex' }));
    await acme.request({ type: 'subscribe', channels: ['org:all'] });
    await globex.request({ type: 'publish', channel: 'org:all', event: { type: 'note', payload: 'from globex' } });
    await acme.request({ type: 'publish', channel: 'org:all', event: { type: 'note', payload: 'from acme' } });
    const events = await acme.waitForEvents('org:all', 1);
    await acme.request({ type: 'heartbeat.ping' });
    expect(acme.events('org:all').map((e) => (e.event as { payload: string }).payload)).toEqual(['from acme']);
    expect(events).toHaveLength(1);
    await Promise.all([acme.close(), globex.close()]);
  });

  it('reports status and health, and serves JWKS and OpenAPI', async () => {
    const operator = { authorization: `Bearer ${await server.token({ org: 'operators', user: 'root', roles: ['platform-admin'] })}` };
    const status = await (await fetch(`${server.url}/api/v1/status`, { headers: operator })).json();
    expect(status).toMatchObject({ status: 'ok', engine: 'memory', connections: expect.any(Number), channels: expect.any(Number) });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kty: string; d?: string }> };
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    expect(jwks.keys[0]!.d).toBeUndefined();
    const openapi = (await (await fetch(`${server.url}/api/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/api/v1/channels/{channel}/events', '/api/v1/auth/login', '/api/v1/admin/organizations', '/api/v1/audit/logs', '/api/v1/connections']),
    );
    expect((await fetch(`${server.url}/api/docs`)).status).toBe(200);
  });
});
