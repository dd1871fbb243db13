import { CloseCodes } from '@apix/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiXClientError, ClientCloseCodes, type ClientState, type ClosedContext, type ConnectingContext, type DisconnectedContext, type HeartbeatContext, type RefreshedContext } from '../src/index.js';
import { eventually, nextEvent } from './helpers/eventually.js';
import { FakeServer } from './helpers/fake-server.js';
import { pause, useHarness } from './helpers/harness.js';

const h = useHarness();
afterEach(() => {
  vi.restoreAllMocks();
});

function recordStates(client: { on: (e: 'state', l: (c: { current: ClientState }) => void) => () => void }): ClientState[] {
  const states: ClientState[] = [];
  client.on('state', (c) => states.push(c.current));
  return states;
}

describe('connecting', () => {
  it('sends connect with the token, becomes connected on connection.established, and exposes the session', async () => {
    const client = h.client({ clientType: 'WEB_APP', name: 'dashboard' });
    const states = recordStates(client);
    const connected = nextEvent((l) => client.on('connected', l));
    client.connect();
    await client.ready(1000);
    expect(states).toEqual(['connecting', 'connected']);
    expect(await connected).toMatchObject({ connectionId: 'c0', sessionId: 's0', organizationId: 'org1', userId: 'u1' });
    expect(client.session?.connectionId).toBe('c0');
    const [connect] = h.server().framesOf('connect');
    expect(connect).toMatchObject({ token: 'good', clientType: 'WEB_APP', metadata: { name: 'dashboard' } });
  });

  it('ready() rejects with APIX_ERR_TIMEOUT when no connection comes', async () => {
    const client = h.client();
    const error = await client.ready(30).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiXClientError);
    expect(error).toMatchObject({ code: 'APIX_ERR_TIMEOUT', retryable: true });
  });

  it('a refused token closes the client with APIX_ERR_AUTH_FAILED and does not retry', async () => {
    const client = h.client({ token: 'bad' });
    const closed = nextEvent<ClosedContext>((l) => client.on('closed', l));
    client.connect();
    const error = await client.ready(1000).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'APIX_ERR_AUTH_FAILED', retryable: false });
    expect(await closed).toMatchObject({ code: 4500, error: { code: 'APIX_ERR_AUTH_FAILED' } });
    expect(client.state).toBe('closed');
    await pause(60); // several max backoffs
    expect(h.server().peers).toHaveLength(1);
  });

  it('backs off exponentially while failing and starts over after a successful connect', async () => {
    // Pin the jitter at the top of the window so each delay shows its ceiling: base·2^attempt − 1.
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const server = h.server();
    let refuse = 2;
    server.hook = (peer, frame) => {
      if (frame.type === 'connect' && refuse > 0) {
        refuse -= 1;
        peer.close(CloseCodes.SERVER_SHUTDOWN, 'restarting');
        return true;
      }
      return false;
    };
    const client = h.client();
    const attempts: ConnectingContext[] = [];
    const delays: number[] = [];
    client.on('connecting', (c) => attempts.push(c));
    client.on('disconnected', (c) => delays.push(c.reconnectDelayMs));
    client.connect();
    await client.ready(2000);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts.map((a) => a.reason)).toEqual(['connect-called', 'reconnect', 'reconnect']);
    expect(delays).toEqual([4, 9]); // base 5 ms: ceilings 5, 10
    server.lastPeer.close(CloseCodes.SERVER_SHUTDOWN, 'deploy');
    await eventually(() => expect(server.peers).toHaveLength(4));
    await eventually(() => expect(client.state).toBe('connected'));
    expect(delays).toEqual([4, 9, 4]); // reset: not 19
    expect(attempts.at(-1)).toEqual({ attempt: 1, reason: 'reconnect' });
  });

  it('gives up on an attempt that gets no connection.established (connect timeout) and tries again', async () => {
    const server = h.server();
    let swallow = true;
    server.hook = (_peer, frame) => {
      if (frame.type === 'connect' && swallow) {
        swallow = false;
        return true;
      }
      return false;
    };
    const client = h.client({ connectTimeoutMs: 80 });
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    client.connect();
    expect(await disconnected).toMatchObject({ code: ClientCloseCodes.CONNECT_TIMEOUT });
    await client.ready(1000);
    expect(server.peers).toHaveLength(2);
  });

  it('keeps trying while the server is down (socket never opens) and connects once it is back', async () => {
    const down = await FakeServer.start();
    const port = Number(new URL(down.url).port);
    await down.close();
    const client = h.client({ url: down.url });
    const codes: number[] = [];
    client.on('disconnected', (c) => codes.push(c.code));
    client.connect();
    await eventually(() => expect(codes.length).toBeGreaterThanOrEqual(2));
    expect(new Set(codes)).toEqual(new Set([1006]));
    const back = await FakeServer.start({ port });
    try {
      await client.ready(1000);
      expect(back.peers).toHaveLength(1);
    } finally {
      client.disconnect();
      await back.close();
    }
  });

  it('disconnect() closes with 1000 and is terminal until connect() is called again', async () => {
    const client = h.client();
    client.connect();
    await client.ready(1000);
    const serverSawClose = new Promise<number>((resolve) => h.server().lastPeer.socket.once('close', (code) => resolve(code)));
    client.disconnect();
    expect(client.state).toBe('closed');
    expect(await serverSawClose).toBe(1000);
    await expect(client.ready(1000)).rejects.toMatchObject({ code: 'APIX_ERR_CLIENT_CLOSED' });
    await pause(40);
    expect(h.server().peers).toHaveLength(1);
    client.connect();
    await client.ready(1000);
    expect(h.server().peers).toHaveLength(2);
  });
});

describe('listeners that change the client while it changes state', () => {
  it('disconnect() from a subscription listener during a drop leaves the client closed, with no reconnect', async () => {
    const client = h.client();
    const sub = client.subscribe('agent:a');
    client.connect();
    await sub.ready(1000);
    sub.on('subscribing', (c) => {
      if (c.reason === 'connection-lost') client.disconnect();
    });
    const states = recordStates(client);
    h.server().lastPeer.close(CloseCodes.SERVER_SHUTDOWN, 'deploy');
    await eventually(() => expect(client.state).toBe('closed'));
    await pause(40);
    expect(states).toEqual(['closed']);
    expect(h.server().peers).toHaveLength(1);
  });

  it('disconnect() from a connecting listener stops the attempt before a socket is opened', async () => {
    const client = h.client();
    client.on('connecting', () => client.disconnect());
    client.connect();
    expect(client.state).toBe('closed');
    await pause(30);
    expect(h.server().peers).toHaveLength(0);
  });
});

describe('close codes decide between reconnecting and stopping', () => {
  it.each([
    [CloseCodes.SERVER_SHUTDOWN],
    [CloseCodes.DEAD_PEER],
    [CloseCodes.TOKEN_EXPIRED],
    [CloseCodes.SLOW_CONSUMER],
    [CloseCodes.RATE_LIMITED],
    [CloseCodes.MESSAGE_TOO_BIG],
    [CloseCodes.GOING_AWAY],
    [CloseCodes.INTERNAL_ERROR],
  ])('%i → reconnect', async (code) => {
    const client = h.client();
    const states = recordStates(client);
    client.connect();
    await client.ready(1000);
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    h.server().lastPeer.close(code, 'test');
    const context = await disconnected;
    expect(context.code).toBe(code);
    expect(context.reconnectDelayMs).toBeGreaterThanOrEqual(0);
    expect(context.reconnectDelayMs).toBeLessThan(5); // first delay: below the base (full jitter)
    await eventually(() => expect(client.state).toBe('connected'));
    expect(h.server().peers).toHaveLength(2);
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
  });

  it.each([[CloseCodes.NORMAL], [CloseCodes.UNAUTHORIZED], [CloseCodes.FORBIDDEN], [CloseCodes.PROTOCOL_VIOLATION], [CloseCodes.POLICY_VIOLATION], [CloseCodes.UNSUPPORTED_DATA]])(
    '%i → closed, no reconnect',
    async (code) => {
      const client = h.client();
      client.connect();
      await client.ready(1000);
      const closed = nextEvent<ClosedContext>((l) => client.on('closed', l));
      h.server().lastPeer.close(code, 'go away');
      const context = await closed;
      expect(context).toMatchObject({ code, reason: 'go away', error: { code: 'APIX_ERR_CONNECTION_CLOSED', details: { closeCode: code } } });
      expect(client.state).toBe('closed');
      await pause(60);
      expect(h.server().peers).toHaveLength(1);
    },
  );
});

describe('token function', () => {
  it('is called again before the reconnect after 4003, and the new token is sent', async () => {
    const tokens = ['token-1', 'token-2', 'token-3'];
    let calls = 0;
    const client = h.client({ token: async () => tokens[calls++] ?? 'token-x' });
    client.connect();
    await client.ready(1000);
    h.server().lastPeer.close(CloseCodes.TOKEN_EXPIRED, 'token expired');
    await eventually(() => expect(h.server().peers).toHaveLength(2));
    await eventually(() => expect(client.state).toBe('connected'));
    expect(h.server().framesOf('connect').map((f) => f.token)).toEqual(['token-1', 'token-2']);
    expect(calls).toBe(2);
  });

  it('a failing token function is reported and retried with backoff', async () => {
    let calls = 0;
    const client = h.client({
      token: async () => {
        calls += 1;
        if (calls === 1) throw new Error('auth service down');
        return 'good';
      },
    });
    const error = nextEvent((l) => client.on('error', l));
    client.connect();
    expect(await error).toMatchObject({ source: 'token', error: { code: 'APIX_ERR_TOKEN_UNAVAILABLE', retryable: true } });
    await client.ready(1000);
    expect(calls).toBe(2);
  });

  it('a token function that throws a non-retryable ApiXClientError stops the client', async () => {
    const loggedOut = ApiXClientError.protocol('AUTH_FAILED', 'user logged out');
    const client = h.client({
      token: async () => {
        throw loggedOut;
      },
    });
    client.connect();
    await expect(client.ready(1000)).rejects.toBe(loggedOut);
    expect(client.state).toBe('closed');
    expect(h.server().peers).toHaveLength(0);
  });

  it('refreshes before expiry over the open socket, keeping the connection', async () => {
    const server = h.server();
    server.tokenLifetimeMs = 200;
    let calls = 0;
    const client = h.client({ token: async () => `token-${++calls}`, refreshMarginMs: 150 });
    const refreshed = nextEvent<RefreshedContext>((l) => client.on('refreshed', l));
    client.connect();
    await client.ready(1000);
    const context = await refreshed;
    expect(context.expiresAt).toBeGreaterThan(Date.now());
    expect(server.framesOf('refresh').map((f) => f.token)).toEqual(['token-2']);
    expect(server.peers).toHaveLength(1);
    expect(client.state).toBe('connected');
    expect(client.session?.expiresAt).toBe(context.expiresAt);
  });

  it('reports a refused refresh (identity mismatch) without dropping the connection', async () => {
    const server = h.server();
    server.tokenLifetimeMs = 100;
    server.hook = (peer, frame) => {
      if (frame.type !== 'refresh') return false;
      server.replyError(peer, frame.id, 'IDENTITY_MISMATCH');
      return true;
    };
    const client = h.client({ token: async () => 'good', refreshMarginMs: 80 });
    const error = nextEvent((l) => client.on('error', l));
    client.connect();
    expect(await error).toMatchObject({ source: 'refresh', error: { code: 'APIX_ERR_IDENTITY_MISMATCH' } });
    expect(client.state).toBe('connected');
    await pause(80);
    expect(server.framesOf('refresh')).toHaveLength(1); // not retried: it would be refused again
  });
});

describe('heartbeat', () => {
  it('measures round-trip time from heartbeat.pong', async () => {
    const server = h.server();
    server.heartbeatIntervalMs = 10;
    const client = h.client({ heartbeat: { enabled: true, pongTimeoutMs: 500 } });
    const beat = nextEvent<HeartbeatContext>((l) => client.on('heartbeat', l));
    client.connect();
    const context = await beat;
    expect(context.rttMs).toBeGreaterThanOrEqual(0);
    expect(client.rttMs).toBe(context.rttMs);
    expect(server.framesOf('heartbeat.ping')[0]?.ts).toBeTypeOf('number');
  });

  it('reports the last round trip in the next heartbeat.ping, so the server can show it', async () => {
    const server = h.server();
    server.heartbeatIntervalMs = 10;
    const client = h.client({ heartbeat: { enabled: true, pongTimeoutMs: 500 } });
    const beats: number[] = [];
    const twoBeats = new Promise<void>((resolve) => client.on('heartbeat', ({ rttMs }) => beats.push(rttMs) === 2 && resolve()));
    client.connect();
    await twoBeats;
    const pings = server.framesOf('heartbeat.ping');
    expect(pings[0]?.rtt).toBeUndefined(); // nothing measured yet
    expect(pings[1]?.rtt).toBe(Math.round(beats[0]!));
  });

  it('no pong within the timeout → the client drops the link and reconnects', async () => {
    const server = h.server();
    server.heartbeatIntervalMs = 10;
    server.answerPings = false;
    const client = h.client({ heartbeat: { enabled: true, pongTimeoutMs: 50 } });
    const disconnected = nextEvent<DisconnectedContext>((l) => client.on('disconnected', l));
    client.connect();
    await client.ready(1000);
    expect(await disconnected).toMatchObject({ code: ClientCloseCodes.NO_PONG });
    server.answerPings = true;
    await eventually(() => expect(client.state).toBe('connected'));
    expect(server.peers).toHaveLength(2);
    // The dead link was dropped on our side, not left half open.
    await eventually(() => expect(server.peers[0]?.open).toBe(false));
  });
});
