import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** What the server writes down: audit rows, connection rows, the event archive. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ HEARTBEAT_FLUSH_MS: 200, PING_INTERVAL_MS: 100, PONG_TIMEOUT_MS: 1_000, HISTORY_SIZE: 5, AUDIT_PUBLISH_MODE: 'all' });
});
afterAll(() => server.stop());

const eventually = async <T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in time; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('audit rows from the data plane', () => {
  it('records connection opened and closed, subscribe, unsubscribe, denial, publish and authentication failure', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'audited', user: 'ann' }));
    await client.request({ type: 'subscribe', channels: ['agent:a'] });
    await client.request({ type: 'publish', channel: 'agent:a', event: { type: 'note', payload: 1 } });
    await client.request({ type: 'subscribe', channels: ['user:someone'] });
    await client.request({ type: 'unsubscribe', channels: ['agent:a'] });
    await client.close();
    const bad = await RawClient.open(server.wsUrl);
    await bad.request({ type: 'connect', token: 'garbage' });
    await bad.closed;

    const { rows } = await eventually(
      async () => {
        await server.controlPlane.audit.flush();
        return server.repositories.audit.query('audited', { order: 'oldest' });
      },
      (page) => page.rows.some((r) => r.action === 'connection.closed'),
    );
    expect(rows.map((r) => [r.action, r.channel ?? null, r.outcome])).toEqual([
      ['connection.opened', null, 'success'],
      ['subscription.added', 'agent:a', 'success'],
      ['publish', 'agent:a', 'success'],
      ['subscription.denied', 'user:someone', 'denied'],
      ['subscription.removed', 'agent:a', 'success'],
      ['connection.closed', null, 'success'],
    ]);
    expect(rows.every((r) => r.actorId === 'ann' && r.organizationId === 'audited')).toBe(true);
    const failures = await server.repositories.audit.queryUnattributed({ action: 'auth.failure' });
    expect(failures.rows.length).toBeGreaterThanOrEqual(1);
  });

  it('audits publishes per channel: all, sampled or none; channels without a setting follow AUDIT_PUBLISH_MODE', async () => {
    await server.repositories.channels.create('audited', 'agent:quiet', { auditPublishMode: 'none' });
    await server.repositories.channels.create('audited', 'agent:sampled', { auditPublishMode: 'sampled', auditSampleRate: 0.5 });
    // As the admin API does after a change: the node's in-memory channel rows follow.
    for (const channel of ['agent:quiet', 'agent:sampled']) await server.controlPlane.accessChanged({ kind: 'channel', organizationId: 'audited', channel });
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'audited', user: 'ann' }));
    for (let i = 0; i < 200; i++) {
      await client.request({ type: 'publish', channel: 'agent:quiet', event: { type: 'note', payload: i } });
      await client.request({ type: 'publish', channel: 'agent:sampled', event: { type: 'note', payload: i } });
    }
    await client.close();
    await server.controlPlane.audit.flush();
    const quiet = await server.repositories.audit.query('audited', { action: 'publish', channel: 'agent:quiet', limit: 1000 });
    const sampled = await server.repositories.audit.query('audited', { action: 'publish', channel: 'agent:sampled', limit: 1000 });
    expect(quiet.rows).toHaveLength(0);
    expect(sampled.rows.length).toBeGreaterThan(50);
    expect(sampled.rows.length).toBeLessThan(150);
  });
});

describe('connection tracking', () => {
  it('writes a row per connection, heartbeats in batches, channels, and the status it ended with', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'tracked', user: 'tom' }));
    const established = client.frames.length; // connection.established already consumed
    void established;
    await client.request({ type: 'subscribe', channels: ['agent:t1', 'room:r'] });
    const row = await eventually(
      async () => (await server.repositories.connections.list('tracked'))[0],
      (r) => r !== undefined && r.channels.length === 2 && r.lastHeartbeat.getTime() > r.connectedAt.getTime(),
    );
    expect(row).toMatchObject({ organizationId: 'tracked', userId: 'tom', status: 'CONNECTED', clientType: 'WEB_APP' });
    expect([...row!.channels].sort()).toEqual(['agent:t1', 'room:r']);
    await client.close();
    await eventually(async () => (await server.repositories.connections.list('tracked'))[0]?.status, (s) => s === 'DISCONNECTED');

    const dropped = await RawClient.connect(server.wsUrl, await server.token({ org: 'tracked', user: 'tim' }));
    for (const c of server.connections.values()) if (c.principal?.userId === 'tim') c.close(4000, 'test: server going away');
    await dropped.closed;
    await eventually(async () => (await server.repositories.connections.list('tracked', { userId: 'tim' }))[0]?.status, (s) => s === 'RECONNECTING');
  });

  it('marks a connection SUSPENDED while its token is expired within the grace period', async () => {
    const suspended = await startTestServer({ HEARTBEAT_FLUSH_MS: 100, TOKEN_EXPIRY_GRACE_MS: 5_000 });
    try {
      const client = await RawClient.connect(suspended.wsUrl, await suspended.token({ org: 'tracked', user: 'sue', ttlSeconds: 1 }));
      await eventually(async () => (await suspended.repositories.connections.list('tracked'))[0]?.status, (s) => s === 'SUSPENDED');
      await client.request({ type: 'refresh', token: await suspended.token({ org: 'tracked', user: 'sue' }) });
      await eventually(async () => (await suspended.repositories.connections.list('tracked'))[0]?.status, (s) => s === 'CONNECTED');
      await client.close();
    } finally {
      await suspended.stop();
    }
  });
});

describe('subscriber counts', () => {
  it('keeps channels.subscribers current as clients subscribe, unsubscribe and disconnect', async () => {
    await server.repositories.channels.create('counted', 'room:lobby');
    const count = async () => (await server.repositories.channels.findByName('counted', 'room:lobby'))?.subscribers;
    const a = await RawClient.connect(server.wsUrl, await server.token({ org: 'counted', user: 'a' }));
    const b = await RawClient.connect(server.wsUrl, await server.token({ org: 'counted', user: 'b' }));
    await a.request({ type: 'subscribe', channels: ['room:lobby'] });
    await b.request({ type: 'subscribe', channels: ['room:lobby'] });
    await eventually(count, (n) => n === 2);
    await a.request({ type: 'unsubscribe', channels: ['room:lobby'] });
    await eventually(count, (n) => n === 1);
    await b.close();
    await eventually(count, (n) => n === 0);
    await a.close();
  });
});

describe('event archive and time-based replay', () => {
  it('archives a persisted channel off the publish path and serves history beyond the log retention from it', async () => {
    await server.repositories.channels.create('archived', 'workflow:w', { persistEvents: true });
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'archived', user: 'al' }));
    const t0 = new Date().toISOString();
    let epoch = '';
    for (let i = 1; i <= 20; i++) {
      const reply = await client.request({ type: 'publish', channel: 'workflow:w', event: { type: 'note', payload: i } });
      epoch = (reply.result as { epoch: string }).epoch;
    }
    // The log keeps 5 (HISTORY_SIZE); resuming from offset 2 needs the archive.
    const resumed = await eventually(
      () => client.request({ type: 'history', channel: 'workflow:w', since: { offset: 2, epoch }, limit: 100 }),
      (reply) => (reply.result as { complete: boolean }).complete,
    );
    const offsets = (resumed.result as { publications: Array<{ offset: number }> }).publications.map((p) => p.offset);
    expect(offsets).toEqual(Array.from({ length: 18 }, (_, i) => i + 3));

    // Time range over HTTP: everything since t0, oldest first, served from archive + log.
    const token = await server.token({ org: 'archived', user: 'al' });
    type Body = { complete: boolean; publications: Array<{ offset: number; epoch: string; event: { payload: number } }> };
    const body = await eventually(
      async () => {
        const response = await fetch(`${server.url}/api/v1/channels/workflow:w/history?from=${encodeURIComponent(t0)}&limit=100`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        return (await response.json()) as Body;
      },
      (b) => b.complete,
    );
    expect(body.complete).toBe(true);
    expect(body.publications.map((p) => p.event.payload)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(body.publications.every((p) => p.epoch === epoch)).toBe(true);

    // Archive writes are idempotent: the same rows twice add nothing.
    const rows = await server.repositories.events.range('archived', 'workflow:w', { limit: 1000 });
    expect(rows).toHaveLength(20);
    await client.close();
  });

  it('a non-persisted channel says complete: false when a time range reaches past its log', async () => {
    const client = await RawClient.connect(server.wsUrl, await server.token({ org: 'archived', user: 'al' }));
    for (let i = 1; i <= 10; i++) await client.request({ type: 'publish', channel: 'agent:ephemeral', event: { type: 'note', payload: i } });
    const reply = await client.request({ type: 'history', channel: 'agent:ephemeral', from: new Date(Date.now() - 60_000).toISOString() });
    expect(reply.result).toMatchObject({ complete: false });
    expect((reply.result as { publications: Array<{ offset: number }> }).publications.map((p) => p.offset)).toEqual([6, 7, 8, 9, 10]);
    expect(await client.request({ type: 'history', channel: 'agent:ephemeral', from: 'yesterday' })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_INVALID_FRAME' } });
    await client.close();
  });
});

describe('storage maintenance', () => {
  it('marks rows of dead nodes disconnected, deletes old ones, purges expired archive rows and refresh tokens', async () => {
    const { connections, events, channels } = server.repositories;
    const longAgo = new Date(Date.now() - 30 * 86_400_000);
    await connections.recordConnected({ organizationId: 'maint', sessionId: 'sess_dead_node', userId: 'u', clientType: 'WEB_APP', at: new Date(Date.now() - 3_600_000) });
    await connections.recordConnected({ organizationId: 'maint', sessionId: 'sess_ancient', userId: 'u', clientType: 'WEB_APP', at: longAgo });
    await connections.setStatus('maint', 'sess_ancient', 'DISCONNECTED', longAgo);
    await channels.create('maint', 'agent:short-lived', { persistEvents: true, archiveRetentionMs: 60_000 });
    await events.appendBatch([{ organizationId: 'maint', channel: 'agent:short-lived', epoch: 'e', offset: 1, eventType: 'note', payload: 1, createdAt: longAgo }]);

    await server.maintenance.runOnce();

    expect(await connections.findBySessionId('maint', 'sess_dead_node')).toMatchObject({ status: 'DISCONNECTED' });
    expect(await connections.findBySessionId('maint', 'sess_ancient')).toBeUndefined();
    expect(await events.range('maint', 'agent:short-lived')).toHaveLength(0);
  });
});
