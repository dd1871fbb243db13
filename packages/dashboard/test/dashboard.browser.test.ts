import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessCluster } from '../../server/test/cluster/cluster-nodes.js';
import { deleteKeysWithPrefix } from '../../server/test/cluster/redis-processes.js';
import { RawClient } from '../../server/test/support/raw-client.js';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { buildDashboard, launchChromium } from './support/browser.js';

/**
 * The dashboard in a real browser (headless Debian chromium through playwright-core), served
 * by a real APIX server at /dashboard, talking to it only through the public API and the SDK.
 */
const STEP_TIMEOUT_MS = 20_000;

let server: TestServer;
let browser: Browser;
let page: Page;
let dashboardDir: string;
let adminToken: string;

async function publish(channel: string, payload: unknown): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/channels/${encodeURIComponent(channel)}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'custom.note', payload }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

const text = (testId: string) => page.getByTestId(testId).innerText();

beforeAll(async () => {
  dashboardDir = await buildDashboard();
  server = await startTestServer({ DASHBOARD_DIR: dashboardDir });
  adminToken = await server.token({ org: 'acme', user: 'alice', roles: ['admin'] });
  browser = await launchChromium();
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dashboardDir) await rm(dirname(dashboardDir), { recursive: true, force: true });
});

describe('dashboard in headless chromium', () => {
  it('serves the app at /dashboard and signs in with a token', async () => {
    await page.goto(`${server.url}/dashboard`); // redirected to /dashboard/
    expect(page.url()).toBe(`${server.url}/dashboard/`);
    await page.getByTestId('signin-token').fill(adminToken);
    await page.getByTestId('signin-token-submit').click();
    await expect.poll(() => text('who')).toContain('alice');
    expect(await text('who')).toContain('acme');
    await page.getByTestId('tile-connections').waitFor();
  }, 60_000);

  it('refuses a bad token with the error code', async () => {
    const other = await browser.newPage();
    await other.goto(`${server.url}/dashboard/`);
    await other.getByTestId('signin-token').fill('not-a-token');
    await other.getByTestId('signin-token-submit').click();
    await expect.poll(() => other.getByTestId('signin-error').innerText(), { timeout: STEP_TIMEOUT_MS }).toMatch(/APIX_ERR_/);
    await other.close();
  }, 60_000);

  it('the overview updates after a publish', async () => {
    const before = Number(await text('tile-publishes-total'));
    await publish('agent:overview', { n: 1 });
    await expect.poll(async () => Number(await text('tile-publishes-total')), { timeout: STEP_TIMEOUT_MS }).toBe(before + 1);
    expect(await page.getByTestId('chart-throughput').locator('canvas').count()).toBeGreaterThan(0);
  }, 60_000);

  it('creates a channel with permissions and tails it live', async () => {
    await page.getByTestId('nav-channels').click();
    await page.getByTestId('channel-new').click();
    await page.getByTestId('channel-name').fill('agent:orders');
    await page.getByTestId('perm-subscribe').fill('admin, member');
    await page.getByTestId('perm-publish').fill('admin');
    await page.getByTestId('channel-save').click();
    await expect.poll(() => text('channel-table'), { timeout: STEP_TIMEOUT_MS }).toContain('agent:orders');
    expect(await text('channel-table')).toContain('subscribe: admin, member');

    await page.getByTestId('tail-agent:orders').click();
    await expect.poll(() => text('tail-status'), { timeout: STEP_TIMEOUT_MS }).toContain('subscribed');
    await publish('agent:orders', { order: 'A-17' });
    await expect.poll(() => text('tail-log'), { timeout: STEP_TIMEOUT_MS }).toContain('A-17');
  }, 60_000);

  it('runs the WebSocket console through a forced disconnect and shows the resume', async () => {
    await page.getByTestId('nav-console').click();
    await page.getByTestId('console-connect').click();
    await expect.poll(() => text('console-state'), { timeout: STEP_TIMEOUT_MS }).toBe('connected');
    await page.getByTestId('console-channel').fill('agent:console');
    await page.getByTestId('console-subscribe').click();
    await expect.poll(() => text('console-log'), { timeout: STEP_TIMEOUT_MS }).toContain('subscribed agent:console');
    await page.getByTestId('console-payload').fill('{"text":"first"}');
    await page.getByTestId('console-publish').click();
    await expect.poll(() => text('console-log'), { timeout: STEP_TIMEOUT_MS }).toContain('publication agent:console #1');
    expect(await text('console-log')).toContain('⬆ {"type":"publish"');
    expect(await text('console-log')).not.toContain(adminToken); // the connect frame is shown with its token redacted

    await page.getByTestId('console-drop').click();
    await publish('agent:console', { text: 'while-away' });
    await expect.poll(() => text('console-log'), { timeout: STEP_TIMEOUT_MS }).toContain('disconnected: code 4000');
    await expect.poll(() => text('console-resume'), { timeout: STEP_TIMEOUT_MS }).toContain('recovered=true');
    await expect.poll(() => text('console-log'), { timeout: STEP_TIMEOUT_MS }).toContain('while-away');
    await expect.poll(() => text('console-state'), { timeout: STEP_TIMEOUT_MS }).toBe('connected');
  }, 60_000);

  it('lists live connections with both round trips and disconnects one', async () => {
    const carol = await RawClient.connect(server.wsUrl, await server.token({ org: 'acme', user: 'carol', roles: ['member'] }));
    expect(await carol.request({ type: 'heartbeat.ping', rtt: 17 })).toMatchObject({ type: 'heartbeat.pong' });
    await page.getByTestId('nav-connections').click();
    const row = page.getByTestId('connection-row').filter({ hasText: 'carol' });
    await expect.poll(() => row.getByTestId('connection-rtt').innerText(), { timeout: STEP_TIMEOUT_MS }).toContain('17 ms');
    await row.getByRole('button', { name: 'Disconnect' }).click();
    expect((await carol.closed).code).toBe(4501);
    await expect.poll(() => page.getByTestId('connection-row').filter({ hasText: 'carol' }).count(), { timeout: STEP_TIMEOUT_MS }).toBe(0);
  }, 60_000);

  it('shows a member only the screens the API would allow', async () => {
    const member = await browser.newPage();
    await member.goto(`${server.url}/dashboard/`);
    await member.getByTestId('signin-token').fill(await server.token({ org: 'acme', user: 'bob', roles: ['member'] }));
    await member.getByTestId('signin-token-submit').click();
    await member.getByTestId('nav-console').waitFor({ timeout: STEP_TIMEOUT_MS });
    expect(await member.getByTestId('nav-explorer').count()).toBe(1);
    expect(await member.getByTestId('nav-overview').count()).toBe(0);
    expect(await member.getByTestId('nav-organization').count()).toBe(0);
    await member.close();
  }, 60_000);

  it('signs in with an account of the auth API and shows a new API key once', async () => {
    const registered = await fetch(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@initech.example', password: 'correct-horse-battery', organization: { name: 'Initech' } }),
    });
    expect(registered.status).toBe(201);
    // The server chose the organisation's id (nobody can claim one by registering).
    const { organizationId } = (await registered.json()) as { organizationId: string };
    const admin = await browser.newPage();
    await admin.goto(`${server.url}/dashboard/#/organization`);
    await admin.getByTestId('signin-email').fill('ada@initech.example');
    await admin.getByTestId('signin-password').fill('correct-horse-battery');
    await admin.getByTestId('signin-password-submit').click();
    await expect.poll(() => admin.getByTestId('who').innerText(), { timeout: STEP_TIMEOUT_MS }).toContain(organizationId);
    await expect.poll(() => admin.getByTestId('member-table').innerText(), { timeout: STEP_TIMEOUT_MS }).toContain('ada@initech.example');
    await admin.getByPlaceholder('key name').fill('billing');
    await admin.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => admin.getByTestId('created-key').innerText(), { timeout: STEP_TIMEOUT_MS }).toMatch(/billing.*shown once/);
    await admin.close();
  }, 60_000);

  it('browses the OpenAPI document and runs a request from the explorer', async () => {
    await page.getByTestId('nav-explorer').click();
    await page.getByTestId('explorer-filter').fill('latency');
    await page.getByText('/api/v1/monitoring/latency/stats').first().click();
    expect(await text('explorer-curl')).toContain('/api/v1/monitoring/latency/stats');
    expect(await text('explorer-curl')).not.toContain(adminToken);
    await page.getByTestId('explorer-send').click();
    await expect.poll(() => text('explorer-result'), { timeout: STEP_TIMEOUT_MS }).toContain('"namespaces"');
  }, 60_000);

  it('downloads the audit trail as CSV', async () => {
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-table').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-download-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^apix-audit-.*\.csv$/);
    const csv = await readFile((await download.path())!, 'utf8');
    const [header, ...rows] = csv.trim().split('\n');
    expect(header).toMatch(/action/);
    expect(rows.some((r) => r.includes('admin.channel.created'))).toBe(true);
  }, 60_000);

  it('shows the whole cluster when two nodes share Redis: a row per node, connections of both', async () => {
    const redisUrl = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = `apixtest-dash-${process.pid}-${Date.now()}`;
    const cluster = await startInProcessCluster(2, { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, DASHBOARD_DIR: dashboardDir });
    const tab = await browser.newPage();
    try {
      const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
      const token = await cluster.token({ org: 'acme', user: 'alice', roles: ['admin'] });
      const onB = await RawClient.connect(b.wsUrl, token); // a connection the browser's node does not hold
      await tab.goto(`${a.url}/dashboard/`);
      await tab.getByTestId('signin-token').fill(token);
      await tab.getByTestId('signin-token-submit').click();
      await expect.poll(() => tab.getByTestId('node-row').count(), { timeout: STEP_TIMEOUT_MS }).toBe(2);
      await expect.poll(() => tab.getByTestId('tile-connections').locator('.tile-value').innerText(), { timeout: STEP_TIMEOUT_MS }).toBe('1');
      expect(await tab.getByTestId('overview-scope').innerText()).toContain('2 nodes');
      await onB.close();
    } finally {
      await tab.close();
      await cluster.stop();
      await deleteKeysWithPrefix(redisUrl, prefix);
    }
  }, 90_000);
});
