import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The permission model over stored rows: memberships decide roles for organisations APIX
 * manages, channel rows decide who may do what, and changes reach open connections.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ PERMISSION_CACHE_TTL_MS: 1_000, REVALIDATE_INTERVAL_MS: 1_000 });
  const { organizations, users, memberships } = server.repositories;
  await organizations.create({ id: 'managed', name: 'Managed Inc' });
  for (const [id, roles] of [['ada', ['admin']], ['bea', ['member']], ['cyd', ['member', 'ops']]] as const) {
    await users.create({ id, email: `${id}@managed.test`, passwordHash: 'x' });
    await memberships.put('managed', id, [...roles]);
  }
});
afterAll(() => server.stop());

const tokenFor = (user: string, roles: string[] = []) => server.token({ org: 'managed', user, roles });
const publish = (c: RawClient, channel: string, payload: unknown = 1) => c.request({ type: 'publish', channel, event: { type: 'note', payload } });

describe('stored permissions', () => {
  it('takes roles from the membership row, not from the token, in a managed organisation', async () => {
    await server.repositories.channels.create('managed', 'room:ops', { permissions: { subscribe: ['ops'], publish: ['ops'], history: ['ops'] } });
    // bea claims "ops" in her token, but her membership says member only.
    const bea = await RawClient.connect(server.wsUrl, await tokenFor('bea', ['ops']));
    expect(await bea.request({ type: 'subscribe', channels: ['room:ops'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    const cyd = await RawClient.connect(server.wsUrl, await tokenFor('cyd'));
    expect((await cyd.request({ type: 'subscribe', channels: ['room:ops'] })).ok).toBe(true);
    expect((await publish(cyd, 'room:ops')).ok).toBe(true);
    await Promise.all([bea.close(), cyd.close()]);
  });

  it('refuses a user with no membership in a managed organisation, whatever the token says', async () => {
    const stranger = await RawClient.connect(server.wsUrl, await tokenFor('stranger', ['admin']));
    expect(await stranger.request({ type: 'subscribe', channels: ['org:all'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    expect(await publish(stranger, 'agent:x')).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    await stranger.close();
  });

  it('applies a permission change to an open subscription: the subscriber loses it and gets nothing published afterwards', async () => {
    await server.repositories.channels.create('managed', 'workflow:payroll', { permissions: { subscribe: ['*'], publish: ['admin'] } });
    const bea = await RawClient.connect(server.wsUrl, await tokenFor('bea'));
    const ada = await RawClient.connect(server.wsUrl, await tokenFor('ada'));
    await bea.request({ type: 'subscribe', channels: ['workflow:payroll'] });
    expect((await publish(ada, 'workflow:payroll', 'before')).ok).toBe(true);
    await bea.waitForEvents('workflow:payroll', 1);

    await server.repositories.channels.updateSettings('managed', 'workflow:payroll', { permissions: { subscribe: ['admin'], publish: ['admin'] } });
    await server.controlPlane.accessChanged('managed');
    expect(await bea.next((f) => f.type === 'subscription.removed')).toMatchObject({ channel: 'workflow:payroll', reason: 'revoked' });
    expect((await publish(ada, 'workflow:payroll', 'after')).ok).toBe(true);
    await bea.request({ type: 'heartbeat.ping' });
    expect(bea.events('workflow:payroll').map((e) => (e.event as { payload: string }).payload)).toEqual(['before']);
    // And a resume is re-authorised: asking again with the old position is refused.
    expect(await bea.request({ type: 'subscribe', channels: ['workflow:payroll'], since: { 'workflow:payroll': { offset: 1, epoch: 'any' } } })).toMatchObject({
      ok: false,
      error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' },
    });
    await Promise.all([bea.close(), ada.close()]);
  });

  it('a removed member is disconnected within 5 s by the periodic check, even without a local admin call', async () => {
    await server.repositories.users.create({ id: 'dee', email: 'dee@managed.test', passwordHash: 'x' });
    await server.repositories.memberships.put('managed', 'dee', ['member']);
    const dee = await RawClient.connect(server.wsUrl, await tokenFor('dee'));
    await dee.request({ type: 'subscribe', channels: ['org:news'] });
    const removedAt = Date.now();
    await server.repositories.memberships.remove('managed', 'dee'); // as another node would: no accessChanged here
    const removed = await dee.next((f) => f.type === 'subscription.removed', 5_000);
    expect(removed).toMatchObject({ channel: 'org:news', reason: 'revoked' });
    expect((await dee.closed).code).toBe(4501);
    expect(Date.now() - removedAt).toBeLessThan(5_000);
  });

  it('keeps the token roles for organisations APIX does not manage (external issuer, dev tokens)', async () => {
    const dev = await RawClient.connect(server.wsUrl, await server.token({ org: 'unmanaged', user: 'x', roles: ['admin'] }));
    expect((await dev.request({ type: 'publish', channel: 'system:notices', event: { type: 'system_notification', payload: { level: 'info', message: 'ok' } } })).ok).toBe(true);
    await dev.close();
  });

  it('keeps user channels private even when a channel row tries to open them', async () => {
    await server.repositories.channels.create('managed', 'user:ada', { permissions: { subscribe: ['*'], history: ['*'] } });
    const bea = await RawClient.connect(server.wsUrl, await tokenFor('bea'));
    expect(await bea.request({ type: 'subscribe', channels: ['user:ada'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_CHANNEL_FORBIDDEN' } });
    await bea.close();
  });

  it('refuses to serve a channel that requires acknowledgments without them (not silently)', async () => {
    await server.repositories.channels.create('managed', 'workflow:acked', { acknowledgmentRequired: true });
    const cyd = await RawClient.connect(server.wsUrl, await tokenFor('cyd'));
    expect(await cyd.request({ type: 'subscribe', channels: ['workflow:acked'] })).toMatchObject({ ok: false, error: { code: 'APIX_ERR_NOT_SUPPORTED', details: { channel: 'workflow:acked' } } });
    await cyd.close();
  });
});
