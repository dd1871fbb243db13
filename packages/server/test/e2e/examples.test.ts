import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { ensureBuilt } from '../support/built-server.js';

/**
 * Every example in examples/ runs against a real server to a checked outcome (issue 11,
 * item 1), and the README's SDK snippet is one of them, verbatim.
 */
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const example = (path: string) => join(root, 'examples', path);
const run = promisify(execFile);

let server: TestServer;
let scratch: string;
const children: ChildProcess[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  // The examples import '@apix/sdk' as an application would: its built package.
  await ensureBuilt();
  server = await startTestServer();
  scratch = await mkdtemp(join(tmpdir(), 'apix-examples-'));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGKILL');
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Starts a program and collects its output; `exited` resolves with its exit code. */
function start(args: string[], env: Record<string, string>): { output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, args, { cwd: scratch, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => output, exited };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function publish(token: string, channel: string, payload: unknown): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/channels/${channel}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'note', payload }),
  });
  expect(response.status).toBe(201);
}

describe('examples/', () => {
  it('node-publisher: publishes over HTTP with a fresh API key and over a WebSocket; the events are in the history', async () => {
    // A newcomer's admin token: registering creates the organisation and makes its first user admin.
    const registered = await fetch(`${server.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'pub@example.com', password: 'a long enough password', organization: { name: 'Pub demo' } }),
    });
    expect(registered.status).toBe(201);
    const adminToken = ((await registered.json()) as { accessToken: string }).accessToken;
    const { stdout } = await run(process.execPath, [example('node-publisher/publish.mjs'), 'agent:examples-pub'], {
      cwd: scratch,
      env: { ...process.env, APIX_HTTP_URL: server.url, APIX_TOKEN: adminToken },
      timeout: 30_000,
    });
    expect(stdout.trim().split('\n')).toEqual(['http tool_call_start offset 1', 'ws tool_call_result offset 2', 'ws agent_status_update offset 3']);
    const history = (await (await fetch(`${server.url}/api/v1/channels/agent:examples-pub/history`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as {
      publications: Array<{ event: { type: string } }>;
    };
    expect(history.publications.map((p) => p.event.type)).toEqual(['tool_call_start', 'tool_call_result', 'agent_status_update']);
  }, 60_000);

  it('node-subscriber: prints events, exits after the count, and a second run resumes with nothing missed', async () => {
    const token = await server.token();
    const env = { APIX_URL: server.wsUrl, APIX_TOKEN: token };
    const first = start([example('node-subscriber/subscribe.mjs'), 'agent:examples-sub', '2'], env);
    await until(() => first.output().includes('subscribed'), 'first run subscribed');
    await publish(token, 'agent:examples-sub', 'one');
    await publish(token, 'agent:examples-sub', 'two');
    expect(await first.exited).toBe(0);
    expect(first.output()).toBe('subscribed\n1 note "one"\n2 note "two"\n');

    // Published while no subscriber runs: the next run gets exactly these.
    await publish(token, 'agent:examples-sub', 'three');
    await publish(token, 'agent:examples-sub', 'four');
    const second = start([example('node-subscriber/subscribe.mjs'), 'agent:examples-sub', '2'], env);
    expect(await second.exited).toBe(0);
    expect(second.output()).toBe('resumed: nothing missed\n3 note "three"\n4 note "four"\n');
  }, 60_000);

  it('node-subscriber with a bad token: fails fast and says why, instead of timing out', async () => {
    const run = start([example('node-subscriber/subscribe.mjs'), 'agent:examples-sub', '1'], { APIX_URL: server.wsUrl, APIX_TOKEN: 'not-a-token' });
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain('APIX_ERR_AUTH_FAILED');
  }, 30_000);

  it('the README SDK snippet is examples/node-subscriber/subscribe.mjs, verbatim', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('```js\n' + readFileSync(example('node-subscriber/subscribe.mjs'), 'utf8') + '```');
  });

  it('browser: the page signs up, subscribes and shows published events live (headless Chromium)', async () => {
    const page = start([example('browser/serve.mjs')], { APIX_HTTP_URL: server.url, PORT: '0' });
    await until(() => /open (http:\/\/\S+)/.test(page.output()), 'example server listening');
    const url = /open (http:\/\/\S+)/.exec(page.output())![1]!;

    const executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const tab = await browser.newPage();
    const consoleErrors: string[] = [];
    tab.on('pageerror', (error) => consoleErrors.push(error.message));
    await tab.goto(url);
    await tab.fill('input[name=email]', 'ada@example.com');
    await tab.fill('input[name=password]', 'correct horse battery');
    await tab.fill('input[name=organization]', 'Web demo');
    await tab.click('button[value=register]');
    await tab.waitForFunction(() => document.querySelector('#status')?.textContent === 'subscribed', undefined, { timeout: 30_000 });

    // A member of the same organisation publishes; the page shows it without a reload.
    const login = (await (
      await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }),
      })
    ).json()) as { accessToken: string };
    await publish(login.accessToken, 'agent:demo', { hello: 'browser' });
    await tab.waitForSelector('#events li', { timeout: 30_000 });
    expect(await tab.textContent('#events li')).toBe('#1 note {"hello":"browser"}');
    expect(consoleErrors).toEqual([]);
  }, 90_000);
});
