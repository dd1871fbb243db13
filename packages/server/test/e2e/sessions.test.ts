import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionTokens, sessionSecret } from '../../src/identity/session-token.js';
import { userPrincipal } from '../../src/identity/principal.js';
import { RawClient } from '../support/raw-client.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Resumable sessions on the memory engine (ADR 0040): the same session id, subscriptions back
 * after re-authorisation, what was missed replayed in order before anything live, and every
 * refused token answered with a typed error and a fresh session.
 */
// One server for the file (a start costs seconds on a busy machine); every test uses its own channels.
let server: TestServer;
beforeAll(async () => {
  // Short flush interval: the stale-connection test waits for one position write.
  server = await startTestServer({ SESSION_FLUSH_MS: 50 });
  // Channel rows before any traffic: rows written behind the server's back are only seen after its cache refresh.
  await server.repositories.channels.create('acme', 'agent:trimmed', { historySize: 10 });
  await server.repositories.channels.create('acme', 'room:ops', { permissions: { subscribe: ['ops'], publish: ['*'], history: ['ops'] } });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

type Frame = Record<string, unknown> & { type: string };
type Grant = { sessionId: string; sessionToken: string; resumed: boolean; sessionError?: { code: string } };

async function connectWith(url: string, token: string, extra: Record<string, unknown> = {}): Promise<{ client: RawClient; reply: Grant; established: Frame }> {
  const client = await RawClient.open(url);
  const answer = await client.request({ type: 'connect', token, ...extra });
  if (answer.ok !== true) throw new Error(`connect refused: ${JSON.stringify(answer)}`);
  const established = await client.next((f) => f.type === 'connection.established');
  return { client, reply: answer.result as Grant, established };
}

/**
 * Resumes the session `sessionToken` names, asking again while the store does not hold it yet
 * (a session is stored in the background as it starts); the last answer, resumed or not.
 */
async function resumeWhenStored(url: string, token: () => Promise<string>, sessionToken: string): Promise<{ client: RawClient; reply: Grant; established: Frame }> {
  let fresh = await connectWith(url, await token(), { sessionToken });
  for (let attempt = 0; !fresh.reply.resumed && attempt < 100; attempt++) {
    await fresh.client.close();
    await new Promise((r) => setTimeout(r, 50));
    fresh = await connectWith(url, await token(), { sessionToken });
  }
  return fresh;
}

async function publish(client: RawClient, channel: string, count: number, from = 1): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const reply = await client.request({ type: 'publish', channel, event: { type: 'note', payload: i } });
    if (reply.ok !== true) throw new Error(JSON.stringify(reply));
  }
}

const payloads = (frames: Frame[]) => frames.map((f) => (f.event as { payload: number }).payload);

describe('resumable sessions (memory engine)', () => {
  it('a client that comes back with its session token gets the same session, its subscriptions and every missed event before live ones', async () => {
    const channel = 'agent:sess';
    const first = await connectWith(server.wsUrl, await server.token());
    expect(first.reply).toMatchObject({ resumed: false });
    expect(first.established).toMatchObject({ sessionId: first.reply.sessionId, sessionToken: first.reply.sessionToken, resumed: false });
    await first.client.request({ type: 'subscribe', channels: [channel], filters: { types: ['note'] } });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 5);
    await first.client.waitForEvents(channel, 5);
    await first.client.close();

    await publish(publisher, channel, 20, 6);
    await publisher.request({ type: 'publish', channel, event: { type: 'filtered-out', payload: 0 } });
    const second = await connectWith(server.wsUrl, await server.token(), { sessionToken: first.reply.sessionToken });
    expect(second.reply).toMatchObject({ sessionId: first.reply.sessionId, resumed: true });
    expect(second.reply.sessionError).toBeUndefined();
    expect(second.established.subscriptions).toEqual([
      expect.objectContaining({ channel, recovering: true, recovered: true, position: expect.objectContaining({ offset: 26 }) }),
    ]);
    await publish(publisher, channel, 1, 27);
    const events = await second.client.waitForEvents(channel, 21);
    // 6..25 replayed (the filter came back with the subscription), then 27 live: nothing twice, nothing skipped.
    expect(payloads(events)).toEqual([...Array.from({ length: 20 }, (_, i) => i + 6), 27]);
    // Not subscribed a second time: the restored subscription is the one the client holds.
    expect((await second.client.request({ type: 'subscribe', channels: [channel] })).error).toMatchObject({ code: 'APIX_ERR_ALREADY_SUBSCRIBED' });
    await Promise.all([second.client.close(), publisher.close()]);
  });

  it('an acknowledged subscription comes back acknowledged: its unacked events are delivered again and acks settle them', async () => {
    const channel = 'agent:sess-acked';
    const first = await connectWith(server.wsUrl, await server.token());
    expect((await first.client.request({ type: 'subscribe', channels: [channel], acknowledgment: true })).ok).toBe(true);
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 3);
    // Received, never acked (the application died before processing them).
    expect((await first.client.waitForEvents(channel, 3)).every((e) => e.acknowledgment === true)).toBe(true);
    await first.client.close();

    const second = await connectWith(server.wsUrl, await server.token(), { sessionToken: first.reply.sessionToken });
    expect(second.reply).toMatchObject({ resumed: true });
    await publish(publisher, channel, 1, 4);
    const events = await second.client.waitForEvents(channel, 4);
    expect(payloads(events)).toEqual([1, 2, 3, 4]);
    // Restored as broadcast, these would come without `acknowledgment` and could never be acked.
    expect(events.every((e) => e.acknowledgment === true)).toBe(true);
    // The group outlived the connection (it is the session's): 1..3 come back as second deliveries.
    expect(events.map((e) => e.retryCount)).toEqual([1, 1, 1, 0]);
    expect(await second.client.request({ type: 'ack', channel, upTo: 4 })).toMatchObject({ ok: true, result: { acked: 4 } });
    await Promise.all([second.client.close(), publisher.close()]);
  });

  it("the client's own positions (since in connect) win over the stored ones", async () => {
    const channel = 'agent:own';
    const first = await connectWith(server.wsUrl, await server.token());
    await first.client.request({ type: 'subscribe', channels: [channel] });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 10);
    const seen = await first.client.waitForEvents(channel, 10);
    await first.client.close();
    // Say we only really read up to 4 (frames lost in flight): 5..10 come again.
    const second = await connectWith(server.wsUrl, await server.token(), {
      sessionToken: first.reply.sessionToken,
      since: { [channel]: { offset: 4, epoch: seen[0]!.epoch } },
    });
    expect(second.reply.resumed).toBe(true);
    expect(payloads(await second.client.waitForEvents(channel, 6))).toEqual([5, 6, 7, 8, 9, 10]);
    await Promise.all([second.client.close(), publisher.close()]);
  });

  it('past retention the resumed subscription says recovered: false with the missed count', async () => {
    const channel = 'agent:trimmed';
    const first = await connectWith(server.wsUrl, await server.token());
    await first.client.request({ type: 'subscribe', channels: [channel] });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 3);
    await first.client.waitForEvents(channel, 3);
    await first.client.close();
    await publish(publisher, channel, 30, 4);
    const second = await connectWith(server.wsUrl, await server.token(), { sessionToken: first.reply.sessionToken });
    expect(second.established.subscriptions).toEqual([expect.objectContaining({ channel, recovering: true, recovered: false, missed: 30 })]);
    await Promise.all([second.client.close(), publisher.close()]);
  });

  it('refuses forged, foreign and expired session tokens with a typed error and starts a fresh session', async () => {
    const first = await connectWith(server.wsUrl, await server.token());
    await first.client.request({ type: 'subscribe', channels: ['agent:private-ish'] });
    await first.client.close();
    const token = first.reply.sessionToken;
    const [version, payload, mac] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, u: 'mallory' })).toString('base64url');
    const tokens = new SessionTokens(await sessionSecret(undefined, server.signingKey.privateKey), server.config.SESSION_TTL_MS);
    const alice = userPrincipal({ userId: 'alice', organizationId: 'acme', roles: [], expiresAt: Date.now() + 60_000 });
    const expired = tokens.issue(first.reply.sessionId, alice, Date.now() - 2 * server.config.SESSION_TTL_MS).token;

    const cases: Array<[string, string, Promise<string>, string]> = [
      ['a flipped MAC', `${version}.${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`, server.token(), 'APIX_ERR_SESSION_INVALID'],
      ['a rewritten payload', `${version}.${forgedPayload}.${mac}`, server.token({ user: 'mallory' }), 'APIX_ERR_SESSION_INVALID'],
      ['garbage', 'not-a-token', server.token(), 'APIX_ERR_SESSION_INVALID'],
      ["another user's token", token, server.token({ user: 'mallory' }), 'APIX_ERR_SESSION_INVALID'],
      ["another organisation's token", token, server.token({ org: 'other' }), 'APIX_ERR_SESSION_INVALID'],
      ['an expired token', expired, server.token(), 'APIX_ERR_SESSION_EXPIRED'],
      // Signed and in time, but the session's state is gone (expired, or the memory engine restarted).
      ['a session with no state left', tokens.issue('sess_neverstored', alice).token, server.token(), 'APIX_ERR_SESSION_EXPIRED'],
    ];
    for (const [what, sessionToken, credential, code] of cases) {
      const attempt = await connectWith(server.wsUrl, await credential, { sessionToken });
      expect(attempt.reply, what).toMatchObject({ resumed: false, sessionError: { code } });
      expect(attempt.reply.sessionId, what).not.toBe(first.reply.sessionId);
      expect(attempt.established.subscriptions, what).toBeUndefined();
      await attempt.client.close();
    }
    // The real owner still resumes afterwards: the refusals did not touch the session.
    const owner = await connectWith(server.wsUrl, await server.token(), { sessionToken: token });
    expect(owner.reply).toMatchObject({ sessionId: first.reply.sessionId, resumed: true });
    expect(owner.established.subscriptions).toEqual([expect.objectContaining({ channel: 'agent:private-ish' })]);
    await owner.client.close();
  });

  it('authorisation runs again on resume: a channel the new credential may not use is not restored', async () => {
    const first = await connectWith(server.wsUrl, await server.token({ roles: ['ops'] }));
    expect((await first.client.request({ type: 'subscribe', channels: ['room:ops', 'agent:open'] })).ok).toBe(true);
    await first.client.close();
    // Same user, but the role is gone from the credential: room:ops stays out, agent:open comes back.
    const second = await connectWith(server.wsUrl, await server.token({ roles: [] }), { sessionToken: first.reply.sessionToken });
    expect(second.reply.resumed).toBe(true);
    expect((second.established.subscriptions as Array<{ channel: string }>).map((s) => s.channel)).toEqual(['agent:open']);
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, 'room:ops', 1);
    await publish(publisher, 'agent:open', 1);
    await second.client.waitForEvents('agent:open', 1);
    expect(second.client.events('room:ops')).toEqual([]);
    await Promise.all([second.client.close(), publisher.close()]);
  });

  it("a stale connection closed with 4503 leaves the session's acknowledged group to the connection that resumed it", async () => {
    const acked = 'agent:twice-acked';
    const plain = 'agent:twice-plain';
    const stale = await connectWith(server.wsUrl, await server.token());
    await stale.client.request({ type: 'subscribe', channels: [acked], acknowledgment: true });
    await stale.client.request({ type: 'subscribe', channels: [plain] });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, acked, 1);
    await stale.client.waitForEvents(acked, 1); // never acked
    await new Promise((r) => setTimeout(r, 1_500));
    const fresh = await resumeWhenStored(server.wsUrl, () => server.token(), stale.reply.sessionToken);
    expect(fresh.reply).toMatchObject({ sessionId: stale.reply.sessionId, resumed: true });
    expect(payloads(await fresh.client.waitForEvents(acked, 1))).toEqual([1]);
    // A position change makes the stale connection write, which is refused: it is closed 4503.
    await publish(publisher, plain, 1);
    expect((await stale.client.closed).code).toBe(4503);
    // Its close must not take the group with it: the resumed connection goes on in the same group.
    await publish(publisher, acked, 1, 2);
    const events = await fresh.client.waitForEvents(acked, 2);
    expect(payloads(events)).toEqual([1, 2]);
    expect(fresh.client.frames.filter((f) => f.type === 'subscription.removed')).toEqual([]);
    expect(await fresh.client.request({ type: 'ack', channel: acked, upTo: 2 })).toMatchObject({ ok: true, result: { acked: 2 } });
    await Promise.all([fresh.client.close(), publisher.close()]);
  });

  it('a stale connection is closed 4503 as soon as its session is resumed, with no traffic, and what it held unacked goes to the resumed one', async () => {
    const channel = 'agent:taken';
    const stale = await connectWith(server.wsUrl, await server.token());
    await stale.client.request({ type: 'subscribe', channels: [channel], acknowledgment: true });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 3);
    expect(payloads(await stale.client.waitForEvents(channel, 3))).toEqual([1, 2, 3]); // never acked
    await new Promise((r) => setTimeout(r, 1_500));
    const fresh = await resumeWhenStored(server.wsUrl, () => server.token(), stale.reply.sessionToken);
    expect(fresh.reply).toMatchObject({ resumed: true });
    // Fenced by the claim itself, not at the stale connection's next write (it has nothing to write):
    // while open it would keep reading the session's group, and redeliver into the void.
    const closed = await Promise.race([stale.client.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3_000))]);
    expect(closed?.code).toBe(4503);
    const events = await fresh.client.waitForEvents(channel, 3);
    expect(payloads(events)).toEqual([1, 2, 3]);
    expect(await fresh.client.request({ type: 'ack', channel, upTo: 3 })).toMatchObject({ ok: true, result: { acked: 3 } });
    await Promise.all([fresh.client.close(), publisher.close()]);
  });

  it('a connect the client gave up on, processed after its newer one, does not take the session from it (attempt numbers)', async () => {
    const channel = 'agent:late-claim';
    const first = await connectWith(server.wsUrl, await server.token());
    await first.client.request({ type: 'subscribe', channels: [channel] });
    await new Promise((r) => setTimeout(r, 1_500));
    await first.client.close();
    // Attempt 1 was sent first but the server got to it last (a lagging node); attempt 2 resumed.
    const late = await RawClient.open(server.wsUrl);
    let newer = await connectWith(server.wsUrl, await server.token(), { sessionToken: first.reply.sessionToken, attempt: 2 });
    for (let attempt = 3; !newer.reply.resumed && attempt < 100; attempt++) {
      await newer.client.close();
      await new Promise((r) => setTimeout(r, 50));
      newer = await connectWith(server.wsUrl, await server.token(), { sessionToken: first.reply.sessionToken, attempt });
    }
    expect(newer.reply).toMatchObject({ sessionId: first.reply.sessionId, resumed: true });
    const stale = await late.request({ type: 'connect', token: await server.token(), sessionToken: first.reply.sessionToken, attempt: 1 });
    expect(stale.result).toMatchObject({ resumed: false, sessionError: { code: 'APIX_ERR_SESSION_INVALID' } });
    // The newer connection keeps the session: its position writes go on and it is not fenced.
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 1);
    expect(payloads(await newer.client.waitForEvents(channel, 1))).toEqual([1]);
    await Promise.all([late.close(), newer.client.close(), publisher.close()]);
  });

  it('a stale connection of a resumed session is closed with 4503 and never writes over the new one', async () => {
    const channel = 'agent:twice';
    const stale = await connectWith(server.wsUrl, await server.token());
    await stale.client.request({ type: 'subscribe', channels: [channel] });
    // The subscription reaches the store within SESSION_FLUSH_MS (1 s): resume after that, or
    // the resumed session may not hold the channel yet.
    await new Promise((r) => setTimeout(r, 1_500));
    // The session is stored in the background as it starts: ask until the store has it.
    const fresh = await resumeWhenStored(server.wsUrl, () => server.token(), stale.reply.sessionToken);
    expect(fresh.reply).toMatchObject({ sessionId: stale.reply.sessionId, resumed: true });
    const publisher = await RawClient.connect(server.wsUrl, await server.token({ user: 'pub' }));
    await publish(publisher, channel, 1);
    // The stale connection's next position write is refused: it learns it was replaced.
    expect((await stale.client.closed).code).toBe(4503);
    expect(payloads(await fresh.client.waitForEvents(channel, 1))).toEqual([1]);
    await Promise.all([fresh.client.close(), publisher.close()]);
  });
});
