import { latencyStatsResponseSchema } from '@apix/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** `/metrics` on its own port, the organisation label cap, tracking switched off, an unbuilt dashboard. */

let server: TestServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.stop();
  server = undefined;
});

/** Two organisations publish to a channel each has a subscriber on; resolves when both were delivered. */
async function traffic(s: TestServer): Promise<void> {
  for (const org of ['acme', 'globex']) {
    const client = await RawClient.connect(s.wsUrl, await s.token({ org, user: 'u', roles: ['admin'] }));
    clients.push(client);
    expect(await client.request({ type: 'subscribe', channels: ['agent:x'] })).toMatchObject({ ok: true });
    expect(await client.request({ type: 'publish', channel: 'agent:x', event: { type: 'custom.ping', payload: {} } })).toMatchObject({ ok: true });
    await client.waitForEvents('agent:x', 1);
  }
}

async function scrape(url: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, text: await response.text() };
}

describe('/metrics', () => {
  it('is served on METRICS_PORT without a token, and not on the main port', async () => {
    server = await startTestServer({ METRICS_PORT: 0 });
    expect(server.metricsPort).toBeGreaterThan(0);
    await traffic(server);
    const scraped = await scrape(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.text).toMatch(/apix_deliveries_total 2\b/);
    expect(scraped.text).toMatch(/apix_publications_total 2\b/);
    expect((await scrape(`http://127.0.0.1:${server.metricsPort}/other`)).status).toBe(404);
    const platform = await server.token({ org: 'ops', user: 'root', roles: ['platform-admin'] });
    expect((await scrape(`${server.url}/metrics`, platform)).status).toBe(404);
  });

  it('labels organisations only when configured, and at most MONITORING_MAX_ORGANIZATIONS of them', async () => {
    server = await startTestServer({ METRICS_ORGANIZATION_LABEL: true, MONITORING_MAX_ORGANIZATIONS: 1 });
    await traffic(server);
    const platform = await server.token({ org: 'ops', user: 'root', roles: ['platform-admin'] });
    const { status, text } = await scrape(`${server.url}/metrics`, platform);
    expect(status).toBe(200);
    const labels = new Set([...text.matchAll(/apix_deliveries_total\{organization="([^"]+)"\}/g)].map((m) => m[1]));
    expect([...labels].sort()).toEqual(['acme', 'other']);
  });
});

describe('MONITORING_TRACKING=false', () => {
  it('takes the tracker off the data plane: delivery works, nothing is measured', async () => {
    server = await startTestServer({ MONITORING_TRACKING: false });
    await traffic(server);
    const admin = await server.token({ org: 'acme', user: 'u', roles: ['admin'] });
    const response = await fetch(`${server.url}/api/v1/monitoring/latency/stats`, { headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(200);
    const stats = latencyStatsResponseSchema.parse(await response.json());
    expect(stats.delivery.sinceStart.count).toBe(0);
  });
});

describe('/dashboard', () => {
  it('says how to build it when it was not built, and the server still runs', async () => {
    server = await startTestServer({ DASHBOARD_DIR: '/nonexistent/apix-dashboard' });
    const response = await fetch(`${server.url}/dashboard/`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'APIX_ERR_NOT_FOUND', message: expect.stringContaining('npm run build') } });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
