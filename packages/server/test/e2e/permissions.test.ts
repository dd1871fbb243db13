import { channelKey } from '@apix/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The permission model over stored rows: memberships decide roles for organisations APIX
 * manages, channel rows decide who may do what, and changes reach open connections.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
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
    await server.controlPlane.accessChanged({ kind: 'channel', organizationId: 'managed', channel: 'workflow:payroll' });
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

  it('a member removed on another node is disconnected as soon as that node\'s change event arrives', async () => {
    await server.repositories.users.create({ id: 'dee', email: 'dee@managed.test', passwordHash: 'x' });
    await server.repositories.memberships.put('managed', 'dee', ['member']);
    const dee = await RawClient.connect(server.wsUrl, await tokenFor('dee'));
    await dee.request({ type: 'subscribe', channels: ['org:news'] });
    // As another node would: the row changes there, and its event arrives over the control bus.
    await server.repositories.memberships.remove('managed', 'dee');
    await server.controlBus.publish({ type: 'access-changed', change: { kind: 'membership', organizationId: 'managed', userId: 'dee' }, origin: 'node_elsewhere' });
    expect(await dee.next((f) => f.type === 'subscription.removed', 5_000)).toMatchObject({ channel: 'org:news', reason: 'revoked' });
    expect((await dee.closed).code).toBe(4501);
  });

  it('re-checks only what a change names: a change to one member leaves everyone else\'s subscriptions alone', async () => {
    await server.repositories.users.create({ id: 'eve', email: 'eve@managed.test', passwordHash: 'x' });
    await server.repositories.memberships.put('managed', 'eve', ['member']);
    const eve = await RawClient.connect(server.wsUrl, await tokenFor('eve'));
    const bea = await RawClient.connect(server.wsUrl, await tokenFor('bea'));
    for (const c of [eve, bea]) await c.request({ type: 'subscribe', channels: ['org:memo'] });
    // bea's membership row is gone too, but only eve's change is announced: bea keeps her subscription until hers is.
    await server.repositories.memberships.remove('managed', 'eve');
    await server.repositories.memberships.remove('managed', 'bea');
    await server.controlPlane.accessChanged({ kind: 'membership', organizationId: 'managed', userId: 'eve' });
    expect((await eve.closed).code).toBe(4501);
    expect((await bea.request({ type: 'heartbeat.ping' })).type).toBe('heartbeat.pong');
    expect(bea.frames.some((f) => f.type === 'subscription.removed')).toBe(false);
    await server.repositories.memberships.put('managed', 'bea', ['member']);
    await bea.close();
  });

  it('a change made without any event (by hand in the database) is found by the background refresh on the next use', async () => {
    const quick = await startTestServer({ PERMISSION_CACHE_TTL_MS: 200 });
    try {
      await quick.repositories.organizations.create({ id: 'managed', name: 'Managed Inc' });
      await quick.repositories.users.create({ id: 'fay', email: 'fay@managed.test', passwordHash: 'x' });
      await quick.repositories.memberships.put('managed', 'fay', ['member']);
      const fay = await RawClient.connect(quick.wsUrl, await quick.token({ org: 'managed', user: 'fay' }));
      await fay.request({ type: 'subscribe', channels: ['org:quiet'] });
      await quick.repositories.memberships.remove('managed', 'fay');
      await new Promise((r) => setTimeout(r, 300));
      // The stale answer is used once more while the refresh runs; the refresh finds the change and revokes.
      await fay.request({ type: 'publish', channel: 'agent:x', event: { type: 'note' } });
      expect((await fay.closed).code).toBe(4501);
    } finally {
      await quick.stop();
    }
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

  it('serves a channel that requires acknowledgments with them, even to a subscriber that did not ask', async () => {
    await server.repositories.channels.create('managed', 'workflow:acked', { acknowledgmentRequired: true });
    await server.controlPlane.accessChanged({ kind: 'channel', organizationId: 'managed', channel: 'workflow:acked' });
    const cyd = await RawClient.connect(server.wsUrl, await tokenFor('cyd'));
    expect(await cyd.request({ type: 'subscribe', channels: ['workflow:acked'] })).toMatchObject({ ok: true });
    await server.broker.publish(channelKey('managed', 'workflow:acked'), JSON.stringify({ type: 'note', payload: 1, metadata: { timestamp: 1, version: '1' } }), { historySize: 100, historyTtlMs: 60_000 });
    const [event] = await cyd.waitForEvents('workflow:acked', 1);
    expect(event).toMatchObject({ offset: 1, acknowledgment: true, retryCount: 0 });
    expect(await cyd.request({ type: 'ack', channel: 'workflow:acked', upTo: 1 })).toMatchObject({ ok: true, result: { acked: 1 } });
    await cyd.close();
  });
});
