import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** Issue 7, "also deliver": CORS from ALLOWED_ORIGINS, security headers everywhere, refused origins logged and audited. */
const ALLOWED = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logLines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
    done();
  },
});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ ALLOWED_ORIGINS: ALLOWED, LOG_LEVEL: 'info' }, { logger: createLogger('info', logSink) });
});
afterAll(() => server.stop());

describe('CORS for the HTTP API', () => {
  it('answers allowed origins and nobody else', async () => {
    const allowed = await fetch(`${server.url}/api/v1/status`, { headers: { origin: ALLOWED } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const evil = await fetch(`${server.url}/api/v1/status`, { headers: { origin: EVIL } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight for an authenticated publish', async () => {
    const preflight = await fetch(`${server.url}/api/v1/channels/agent%3Aa/events`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('gives no cross-origin access by default (ALLOWED_ORIGINS empty)', async () => {
    const plain = await startTestServer();
    try {
      const response = await fetch(`${plain.url}/api/v1/status`, { headers: { origin: ALLOWED } });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.stop();
    }
  });
});

describe('security headers', () => {
  it('are on every response: success, error, not found', async () => {
    for (const [path, init] of [
      ['/api/v1/status', {}],
      ['/api/v1/auth/profile', {}],
      ['/no/such/route', {}],
      ['/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, init as RequestInit);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect({ path, csp }).toMatchObject({ csp: expect.stringContaining("frame-ancestors 'none'") });
      expect(csp).toContain("default-src 'self'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBeTruthy();
      expect(response.headers.get('strict-transport-security')).toBeTruthy();
    }
  });

  it('keep Swagger UI working: its page loads only scripts from the server itself', async () => {
    const page = await fetch(`${server.url}/api/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    // No inline script (the CSP would block it): every <script> has a src on this server.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(body!.trim(), 'inline script').toBe('');
      const src = /src="([^"]+)"/.exec(attributes!)?.[1];
      expect(src, 'script without src').toBeDefined();
      expect(src!.startsWith('http')).toBe(false);
      expect((await fetch(new URL(src!, `${server.url}/api/docs/`))).status).toBe(200);
    }
  });
});

describe('origin refusals at the WebSocket upgrade', () => {
  it('are refused, logged with the origin, and audited', async () => {
    logLines.length = 0;
    const refused = await RawClient.open(server.wsUrl, { origin: EVIL }).then(
      () => undefined,
      (error: { status?: number }) => error.status,
    );
    expect(refused).toBe(403);
    const warning = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.origin === EVIL);
    expect(warning).toMatchObject({ level: 40, origin: EVIL });

    await server.controlPlane.audit.flush();
    const rows = (await server.repositories.audit.queryUnattributed({ action: 'connection.origin_refused' })).rows;
    expect(rows.find((r) => r.details.origin === EVIL)).toMatchObject({ outcome: 'denied', actorType: 'anonymous' });

    // An allowed origin still connects.
    const allowed = await RawClient.open(server.wsUrl, { origin: ALLOWED });
    await allowed.close();
  });
});
