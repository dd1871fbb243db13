import {
  alertsResponseSchema,
  dashboardResponseSchema,
  healthResponseSchema,
  latencyStatsResponseSchema,
  liveConnectionsResponseSchema,
} from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayingBroker } from '../support/delaying-broker.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The monitoring API against a real server whose engine delivers `agent:` channels
 * AGENT_DELAY_MS late (DelayingBroker): the latency percentiles must show that delay, never
 * less, and the alert on p99 must be raised, published on `system:alerts` and audited.
 */
const AGENT_DELAY_MS = 300;
const METRICS_TOKEN = 'metrics-token-0123456789';
/** Generous upper slack for a loaded 2-core machine: the lower bound is exact, this one only catches nonsense. */
const SLACK_MS = 2_000;

let server: TestServer;
let admin: string; // acme admin
let member: string; // acme member
let globexAdmin: string;
let platformAdmin: string;
const clients: RawClient[] = [];

async function get(path: string, token: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  server = await startTestServer(
    { MONITORING_WINDOW_MS: 2_000, ALERT_DELIVERY_P99_MS: 150, METRICS_TOKEN, PING_INTERVAL_MS: 200, PONG_TIMEOUT_MS: 5_000 },
    { broker: new DelayingBroker((key) => (key.includes('/agent:') ? AGENT_DELAY_MS : 0)) },
  );
  admin = await server.token({ org: 'acme', user: 'alice', roles: ['admin'] });
  member = await server.token({ org: 'acme', user: 'bob', roles: ['member'] });
  globexAdmin = await server.token({ org: 'globex', user: 'hank', roles: ['admin'] });
  platformAdmin = await server.token({ org: 'platform', user: 'root', roles: ['platform-admin'] });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
});

async function connect(token: string): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl, token);
  clients.push(client);
  return client;
}

describe('monitoring API with an injected delivery delay', () => {
  let alertWatcher: RawClient;

  it('measures publish→deliver latency per namespace: agent channels at least the injected delay, tool channels below it', async () => {
    alertWatcher = await connect(admin);
    expect(await alertWatcher.request({ type: 'subscribe', channels: ['system:alerts'] })).toMatchObject({ ok: true });
    const subscriber = await connect(admin);
    const second = await connect(admin);
    for (const c of [subscriber, second]) expect(await c.request({ type: 'subscribe', channels: ['agent:bot', 'tool:calc'] })).toMatchObject({ ok: true });
    const publisher = await connect(admin);
    const count = 30;
    for (let i = 0; i < count; i++) {
      await publisher.request({ type: 'publish', channel: 'agent:bot', event: { type: 'custom.tick', payload: { i } } });
      await publisher.request({ type: 'publish', channel: 'tool:calc', event: { type: 'custom.tick', payload: { i } } });
    }
    await subscriber.waitForEvents('agent:bot', count);
    await second.waitForEvents('agent:bot', count);

    const stats = await until('latency for both namespaces', async () => {
      const reply = await get('/api/v1/monitoring/latency/stats', admin);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      const body = latencyStatsResponseSchema.parse(reply.body);
      const agent = body.namespaces.find((n) => n.name === 'agent');
      const tool = body.namespaces.find((n) => n.name === 'tool');
      return agent && tool && agent.sinceStart.count === 2 * count && tool.sinceStart.count === 2 * count ? { body, agent, tool } : undefined;
    });
    expect(stats.body).toMatchObject({ scope: 'organization', organizationId: 'acme' });
    // Lower bound is the truth (the engine held every agent publication that long); 1 % is HDR's precision.
    expect(stats.agent.sinceStart.p50).toBeGreaterThanOrEqual(AGENT_DELAY_MS * 0.99);
    expect(stats.agent.sinceStart.p99).toBeLessThan(AGENT_DELAY_MS + SLACK_MS);
    expect(stats.tool.sinceStart.p50).toBeLessThan(AGENT_DELAY_MS);
    // The organisation's total is its namespaces' (alert notices on system:alerts count too).
    expect(stats.body.delivery.sinceStart.count).toBe(stats.body.namespaces.reduce((sum, n) => sum + n.sinceStart.count, 0));
  });

  it('raises the p99 alert, publishes it on system:alerts and audits it; the dashboard shows it', async () => {
    const notice = await alertWatcher.next((f) => f.type === 'event' && f.channel === 'system:alerts', 15_000);
    expect(notice.event).toMatchObject({ type: 'system_notification', payload: { level: 'critical', alert: { rule: 'delivery_latency_p99', organizationId: 'acme', state: 'raised' } } });
    const alerts = alertsResponseSchema.parse((await get('/api/v1/monitoring/alerts', admin)).body);
    expect(alerts.active.map((a) => a.rule)).toContain('delivery_latency_p99');
    expect(alertsResponseSchema.parse((await get('/api/v1/monitoring/alerts', globexAdmin)).body).active).toEqual([]);
    const dashboard = dashboardResponseSchema.parse((await get('/api/v1/monitoring/dashboard', admin)).body);
    expect(dashboard.alerts.map((a) => a.rule)).toContain('delivery_latency_p99');
    expect(dashboard.totals.publishes).toBe(60);
    expect(dashboard.connections).toBe(4);
    expect(dashboard.timeline.length).toBeGreaterThan(0);
    await until('the audit row', async () => {
      const rows = await get('/api/v1/audit/logs?action=monitoring.alert.raised', admin);
      return rows.status === 200 && rows.body.items.length > 0 ? true : undefined;
    });
    // No more slow traffic: the window passes and the alert clears.
    const cleared = await alertWatcher.next((f) => f.type === 'event' && f.channel === 'system:alerts' && (f.event as any).payload.alert.state === 'cleared', 20_000);
    expect((cleared.event as any).payload.alert.rule).toBe('delivery_latency_p99');
  });

  it('scopes every document: members are refused, another organisation sees nothing of acme, platform admins see all', async () => {
    expect((await get('/api/v1/monitoring/latency/stats', member)).status).toBe(403);
    expect((await get('/api/v1/monitoring/dashboard', member)).body.error.code).toBe('APIX_ERR_FORBIDDEN');
    expect((await fetch(`${server.url}/api/v1/monitoring/health`)).status).toBe(401);
    const globex = latencyStatsResponseSchema.parse((await get('/api/v1/monitoring/latency/stats', globexAdmin)).body);
    expect(globex.delivery.sinceStart.count).toBe(0);
    const platform = latencyStatsResponseSchema.parse((await get('/api/v1/monitoring/latency/stats', platformAdmin)).body);
    expect(platform.scope).toBe('platform');
    expect(platform.organizations.map((o) => o.name)).toContain('acme');
    const globexDashboard = dashboardResponseSchema.parse((await get('/api/v1/monitoring/dashboard', globexAdmin)).body);
    expect(globexDashboard.connections).toBe(0);
  });

  it('lists live connections with their round-trip times (WebSocket and application heartbeat) and disconnects one', async () => {
    // The client reports the round trip of its previous heartbeat in the next heartbeat.ping.
    const reporter = clients[3]!;
    expect(await reporter.request({ type: 'heartbeat.ping', ts: Date.now(), rtt: 42 })).toMatchObject({ type: 'heartbeat.pong' });
    expect(await reporter.request({ type: 'heartbeat.ping', rtt: -1 })).toMatchObject({ type: 'reply', ok: false, error: { code: 'APIX_ERR_INVALID_FRAME' } });
    const listed = await until('a measured round trip', async () => {
      const body = liveConnectionsResponseSchema.parse((await get('/api/v1/monitoring/connections', admin)).body);
      return body.items.length === 4 && body.items.every((c) => c.rttMs !== null) ? body : undefined;
    });
    expect(listed.items.every((c) => c.organizationId === 'acme')).toBe(true);
    // Loopback round trips: far below the pong timeout (a wall-minus-monotonic mix-up read ~1.7e12 here).
    for (const c of listed.items) expect(c.rttMs!).toBeLessThan(5_000);
    expect(listed.items.map((c) => c.heartbeatRttMs).sort()).toEqual([42, null, null, null]);
    const stats = latencyStatsResponseSchema.parse((await get('/api/v1/monitoring/latency/stats', admin)).body);
    expect(stats.rtt.sinceStart.count).toBeGreaterThan(0);
    expect(stats.rtt.sinceStart.max).toBeLessThan(5_000);
    await until('the reported heartbeat round trip in the stats', async () => {
      const body = latencyStatsResponseSchema.parse((await get('/api/v1/monitoring/latency/stats', admin)).body);
      return body.heartbeatRtt.sinceStart.count === 1 ? body : undefined;
    }).then((body) => expect(body.heartbeatRtt.sinceStart.p50).toBe(42));
    const victim = clients[1]!;
    const id = listed.items.find((c) => c.channels.includes('agent:bot'))!.connectionId;
    expect((await fetch(`${server.url}/api/v1/monitoring/connections/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${globexAdmin}` } })).status).toBe(404);
    const response = await fetch(`${server.url}/api/v1/monitoring/connections/${id}?reconnect=true`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ closeCode: 4000 });
    const closedOne = await Promise.race(clients.slice(1, 3).map((c) => c.closed));
    expect(closedOne.code).toBe(4000);
    void victim;
  });

  it('reports component health', async () => {
    const health = healthResponseSchema.parse((await get('/api/v1/monitoring/health', admin)).body);
    expect(health.components.map((c) => c.name)).toEqual(expect.arrayContaining(['engine', 'storage', 'audit_queue', 'archive_queue', 'connection_rows_queue', 'event_loop']));
    expect(health.components.find((c) => c.name === 'storage')!.status).toBe('ok');
  });

  it('serves Prometheus metrics to the metrics token or a platform admin only', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await get('/metrics', admin)).status).toBe(403);
    const scraped = await get('/metrics', METRICS_TOKEN);
    expect(scraped.status).toBe(200);
    const text = scraped.body as string;
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toMatch(/apix_deliveries_total \d+/);
    expect(text).toMatch(/apix_delivery_latency_seconds\{namespace="agent",quantile="0.5"\} 0\.\d+/);
    expect(text).not.toContain('organization="acme"');
    expect((await get('/metrics', platformAdmin)).status).toBe(200);
  });

  it('documents the monitoring paths in OpenAPI', async () => {
    const doc = (await (await fetch(`${server.url}/api/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const path of ['/api/v1/monitoring/latency/stats', '/api/v1/monitoring/alerts', '/api/v1/monitoring/dashboard', '/api/v1/monitoring/health', '/metrics']) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});
