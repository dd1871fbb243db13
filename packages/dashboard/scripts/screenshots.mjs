#!/usr/bin/env node
// Regenerates docs/screenshots/*.png: starts the built server (run `npm run build` first) on
// a throwaway data folder, makes some traffic, and photographs every dashboard screen in
// headless Debian chromium. Usage: npm run dashboard:screenshots
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';
import { startApixServer } from '../../server/dist/index.js';

const OUT = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const SCREENS = ['overview', 'channels', 'connections', 'audit', 'console', 'explorer', 'organization'];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const dataDir = await mkdtemp(join(tmpdir(), 'apix-screens-'));
const server = await startApixServer({ config: { PORT: 0, LOG_LEVEL: 'silent', APIX_DATA_DIR: dataDir, PRINT_DEV_TOKEN: false } });
const url = `http://127.0.0.1:${server.port}`;
const api = async (method, path, token, body) => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
};

const sockets = [];
let browser;
try {
  // The server chooses the organisation's id (naming one needs a platform admin: ADR 0030).
  const { accessToken: token, organizationId } = await api('POST', '/api/v1/auth/register', undefined, {
    email: 'ada@acme.example',
    password: 'correct-horse-battery',
    name: 'Ada',
    organization: { name: 'Acme' },
  });
  await api('POST', `/api/v1/admin/organizations/${organizationId}/members`, token, { email: 'bob@acme.example', password: 'correct-horse-battery', name: 'Bob', roles: ['member'] });
  await api('POST', `/api/v1/admin/organizations/${organizationId}/api-keys`, token, { name: 'billing-service', scopes: ['publish'] });
  for (const name of ['agent:support-bot', 'workflow:onboarding', 'tool:search']) {
    await api('POST', '/api/v1/channels', token, { name, permissions: { subscribe: ['admin', 'member'], publish: ['admin', 'api_key'] }, persistEvents: name.startsWith('workflow') });
  }
  // Subscribers, so publications fan out and the charts move.
  for (let i = 0; i < 12; i++) {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'subscribe', id: 's', channels: ['agent:support-bot', 'tool:search'] }));
    sockets.push(socket);
  }
  const traffic = setInterval(() => {
    for (const channel of ['agent:support-bot', 'tool:search']) {
      void api('POST', `/api/v1/channels/${channel}/events`, token, { type: 'agent_status_update', payload: { agentId: 'support-bot', status: 'thinking' } }).catch(() => undefined);
    }
  }, 100);

  const executablePath = process.env.CHROMIUM_PATH ?? execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(`${url}/dashboard/`);
  await page.screenshot({ path: join(OUT, 'sign-in.png') });
  await page.getByTestId('signin-email').fill('ada@acme.example');
  await page.getByTestId('signin-password').fill('correct-horse-battery');
  await page.getByTestId('signin-password-submit').click();
  await page.getByTestId('tile-connections').waitFor();
  await sleep(8_000); // a few seconds of timeline
  for (const screen of SCREENS) {
    await page.getByTestId(`nav-${screen}`).click();
    if (screen === 'channels') {
      await page.getByTestId('tail-agent:support-bot').click();
      await sleep(1_500);
    }
    if (screen === 'console') {
      await page.getByTestId('console-connect').click();
      await page.getByTestId('console-channel').fill('agent:support-bot');
      await page.getByTestId('console-subscribe').click();
      await sleep(800);
      await page.getByTestId('console-drop').click();
      await page.getByTestId('console-resume').waitFor();
      await sleep(500);
    }
    if (screen === 'explorer') {
      await page.getByTestId('explorer-filter').fill('monitoring');
      await page.getByText('/api/v1/monitoring/latency/stats').first().click();
      await page.getByTestId('explorer-send').click();
      await sleep(500);
    }
    await sleep(1_200);
    await page.screenshot({ path: join(OUT, `${screen}.png`) });
    console.log(`docs/screenshots/${screen}.png`);
  }
  clearInterval(traffic);
} finally {
  await browser?.close();
  for (const s of sockets) s.close();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
