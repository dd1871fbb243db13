import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Organisation B tries to reach organisation A's channel `agent:secret` by every route and
 * every spelling trick. Channel names are relative to the credential's organisation, so B can
 * only ever name its own channels: tricks are malformed names (refused exactly as the same
 * trick on a name that exists nowhere), and well-formed names are B's own, empty channels.
 */
let server: TestServer;
let victim: RawClient;
let victimEpoch: string;
let attacker: RawClient;
let attackerToken: string;

const SECRET = 'agent:secret';
const TRICKS = (name: string): string[] => [
  `acme/${name}`,
  `acme:${name}`,
  `../acme/${name}`,
  `${name}/../../acme`,
  `agent:..%2Facme%2F${name.slice(6)}`,
  `${name}%00`,
  `${name}\u0000`,
  `AGENT:${name.slice(6)}`,
  ` ${name}`,
  `${name} `,
  `${name}\t`,
  name.replace('e', '\u0435'), // Cyrillic е
  name.replace(':', '\uff1a'), // full-width colon
  `${name}:*`,
  `${name}:>`,
  `${name}:#`,
  'agent:*',
  `{acme}/${name}`,
  `${name}.acme`,
];

beforeAll(async () => {
  server = await startTestServer();
  victim = await RawClient.connect(server.wsUrl, await server.token({ org: 'acme', user: 'alice' }));
  await victim.request({ type: 'subscribe', channels: [SECRET, 'user:alice'] });
  const published = await victim.request({ type: 'publish', channel: SECRET, event: { type: 'note', payload: 'acme only' } });
  victimEpoch = (published.result as { epoch: string }).epoch;
  attackerToken = await server.token({ org: 'globex', user: 'mallory', roles: ['admin', 'service'] });
  attacker = await RawClient.connect(server.wsUrl, attackerToken);
});
afterAll(async () => {
  await Promise.all([victim.close(), attacker.close()]);
  await server.stop();
});

describe('tenant isolation over WebSocket', () => {
  it('refuses every trick spelling exactly as it refuses the same trick on a name that exists nowhere', async () => {
    for (const [trick, control] of TRICKS(SECRET).map((t, i) => [t, TRICKS('agent:nothing')[i]!] as const)) {
      for (const frame of [
        (channel: string) => ({ type: 'subscribe', channels: [channel] }),
        (channel: string) => ({ type: 'publish', channel, event: { type: 'note', payload: 'x' } }),
        (channel: string) => ({ type: 'history', channel }),
      ]) {
        const refused = await attacker.request(frame(trick));
        const baseline = await attacker.request(frame(control));
        expect(refused.ok, trick).toBe(false);
        expect((refused.error as { code: string }).code, trick).toBe((baseline.error as { code: string }).code);
        expect((refused.error as { code: string }).code, trick).toMatch(/^APIX_ERR_(CHANNEL_INVALID|INVALID_FRAME)$/);
      }
    }
  });

  it("a well-formed name is the attacker's own channel: subscribing, publishing and reading history never touch acme", async () => {
    expect((await attacker.request({ type: 'subscribe', channels: [SECRET] })).ok).toBe(true);
    const published = await attacker.request({ type: 'publish', channel: SECRET, event: { type: 'note', payload: 'from globex' } });
    expect(published.ok).toBe(true);
    expect((published.result as { epoch: string }).epoch).not.toBe(victimEpoch);
    const history = await attacker.request({ type: 'history', channel: SECRET });
    expect((history.result as { publications: Array<{ event: { payload: string } }> }).publications.map((p) => p.event.payload)).toEqual(['from globex']);
    await attacker.request({ type: 'unsubscribe', channels: [SECRET] });
  });

  it("resuming into acme's stream with acme's epoch gives recovered: false and no acme events", async () => {
    const reply = await attacker.request({ type: 'subscribe', channels: [SECRET], since: { [SECRET]: { offset: 0, epoch: victimEpoch } } });
    expect(reply.result).toMatchObject({ subscriptions: [{ recovered: false, recovering: true }] });
    await attacker.request({ type: 'heartbeat.ping' });
    expect(attacker.events(SECRET).map((e) => (e.event as { payload: string }).payload)).not.toContain('acme only');
    await attacker.request({ type: 'unsubscribe', channels: [SECRET] });
  });

  it("another user's private channel is refused with the same error as any forbidden channel", async () => {
    const privateChannel = await attacker.request({ type: 'subscribe', channels: ['user:alice'] });
    const nobody = await attacker.request({ type: 'subscribe', channels: ['user:nobody-at-all'] });
    const { code, message } = privateChannel.error as { code: string; message: string };
    expect({ code, message }).toEqual({ code: (nobody.error as { code: string }).code, message: (nobody.error as { message: string }).message });
    expect(privateChannel).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
  });
});

describe('tenant isolation over HTTP', () => {
  const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${attackerToken}` } });
  const post = (path: string) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${attackerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'note', payload: 'x' }),
    });

  it('refuses encoded tricks in the path like the same trick on a name that exists nowhere', async () => {
    for (const [trick, control] of TRICKS(SECRET).map((t, i) => [t, TRICKS('agent:nothing')[i]!] as const)) {
      for (const call of [(c: string) => post(`/api/v1/channels/${encodeURIComponent(c)}/events`), (c: string) => get(`/api/v1/channels/${encodeURIComponent(c)}/history`)]) {
        const refused = await call(trick);
        const baseline = await call(control);
        expect(refused.status, trick).toBe(baseline.status);
        expect(((await refused.json()) as { error: { code: string } }).error.code, trick).toBe(((await baseline.json()) as { error: { code: string } }).error.code);
        expect(refused.status, trick).toBeGreaterThanOrEqual(400);
      }
    }
  });

  it("publishing to the same name lands in the attacker's own channel; acme's history is untouched", async () => {
    expect((await post(`/api/v1/channels/${SECRET}/events`)).status).toBe(201);
    const acmeHistory = await fetch(`${server.url}/api/v1/channels/${SECRET}/history`, {
      headers: { authorization: `Bearer ${await server.token({ org: 'acme', user: 'alice' })}` },
    });
    const body = (await acmeHistory.json()) as { publications: Array<{ event: { payload: string } }> };
    expect(body.publications.map((p) => p.event.payload)).toEqual(['acme only']);
  });
});

describe('nothing crossed', () => {
  it("acme's subscriber received exactly acme's one event", async () => {
    await victim.request({ type: 'heartbeat.ping' });
    expect(victim.events(SECRET).map((e) => (e.event as { payload: string }).payload)).toEqual(['acme only']);
    expect(victim.events('user:alice')).toHaveLength(0);
  });
});
