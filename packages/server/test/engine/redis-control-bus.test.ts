import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlMessage } from '../../src/engine/control-bus.js';
import { RedisControlBus } from '../../src/engine/redis-control-bus.js';
import { RedisProcess } from '../cluster/redis-processes.js';

/** On a throwaway redis-server: the test drops links and restarts it. */
let server: RedisProcess;
beforeAll(async () => {
  server = await RedisProcess.start();
});
afterAll(() => server?.stop());

const until = async (check: () => boolean, timeoutMs = 15_000) => {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('RedisControlBus', () => {
  it('delivers every message to every node, the sender included, in order per sender', async () => {
    const received: Record<string, ControlMessage[]> = { a: [], b: [] };
    const a = new RedisControlBus({ url: server.url, nodeId: 'a' });
    const b = new RedisControlBus({ url: server.url, nodeId: 'b' });
    await a.start((m) => received.a!.push(m));
    await b.start((m) => received.b!.push(m));
    for (let i = 0; i < 20; i++) {
      await a.publish({ type: 'access-changed', origin: 'a', change: { kind: 'membership', organizationId: 'acme', userId: `u${i}` } });
    }
    await until(() => received.a!.length === 20 && received.b!.length === 20);
    expect(received.b!.map((m) => (m.type === 'access-changed' && m.change.kind === 'membership' ? m.change.userId : ''))).toEqual(
      Array.from({ length: 20 }, (_, i) => `u${i}`),
    );
    expect(received.a).toEqual(received.b);
    await Promise.all([a.close(), b.close()]);
  });

  it('drops malformed messages and tells its own node to resync after a reconnect', async () => {
    const received: ControlMessage[] = [];
    const bus = new RedisControlBus({ url: server.url, nodeId: 'me', prefix: 'other' });
    await bus.start((m) => received.push(m));
    const { Redis } = await import('ioredis');
    const raw = new Redis(server.url);
    await raw.publish('other:{cluster}:control', 'not json');
    await raw.publish('other:{cluster}:control', JSON.stringify({ type: 'access-changed', origin: 'x', change: { kind: 'nonsense' } }));
    await raw.quit();
    await server.restart(); // the link drops; messages sent meanwhile would be lost
    await until(() => received.some((m) => m.type === 'resync'));
    expect(received).toEqual([{ type: 'resync', origin: 'me' }]);
    // And it still works after the reconnect.
    await until(() => received.length === 1);
    let delivered = false;
    while (!delivered) {
      await bus.publish({ type: 'access-changed', origin: 'me', change: { kind: 'organization', organizationId: 'acme' } }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      delivered = received.some((m) => m.type === 'access-changed');
    }
    await bus.close();
  });
});
