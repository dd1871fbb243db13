import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stampMetadata } from '../../src/channels/event-publisher.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

describe('stampMetadata', () => {
  it('timestamp is the append time; the publisher\'s time moves to clientTimestamp; other fields stay', () => {
    expect(stampMetadata({ timestamp: 1_000, correlation_id: 'c', region: 'eu' }, 1_700_000_000_000)).toEqual({
      timestamp: 1_700_000_000_000,
      clientTimestamp: 1_000,
      correlation_id: 'c',
      region: 'eu',
      version: '1',
    });
    expect(stampMetadata(undefined, 5)).toEqual({ timestamp: 5, version: '1' });
  });
});

describe('timestamps of published events, against the server', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    token = await server.token();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const publish = (metadata: Record<string, unknown>) =>
    fetch(`${server.url}/api/v1/channels/agent:clock/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'note', payload: 1, metadata }),
    });

  it('a client that claims 1970 gets the server time in timestamp and its own in clientTimestamp', async () => {
    const before = Date.now();
    expect((await publish({ timestamp: 1_000 })).status).toBe(201);
    const after = Date.now();
    const history = (await (await fetch(`${server.url}/api/v1/channels/agent:clock/history`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      publications: Array<{ event: { metadata: { timestamp: number; clientTimestamp?: number } } }>;
    };
    const metadata = history.publications.at(-1)!.event.metadata;
    expect(metadata.clientTimestamp).toBe(1_000);
    expect(metadata.timestamp).toBeGreaterThanOrEqual(before);
    expect(metadata.timestamp).toBeLessThanOrEqual(after);
  });

  it('a "time" past what a Date can hold (2^53 - 1) is refused with APIX_ERR_INVALID_REQUEST, not stored', async () => {
    const response = await publish({ timestamp: Number.MAX_SAFE_INTEGER });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('APIX_ERR_INVALID_REQUEST');
  });
});
