import { afterEach, describe, expect, it, vi } from 'vitest';
import { useHarness } from './helpers/harness.js';

const h = useHarness();
afterEach(() => {
  vi.restoreAllMocks();
});

describe('monotonic time', () => {
  it('a wall-clock step while a publish waits for the connection does not expire its deadline', async () => {
    const server = h.server();
    let swallow = true;
    server.hook = (_peer, frame) => {
      // The first attempt never gets connection.established: the client times out and reconnects.
      if (frame.type === 'connect' && swallow) {
        swallow = false;
        return true;
      }
      return false;
    };
    const client = h.client({ connectTimeoutMs: 300 });
    client.connect();
    const publishing = client.publish('agent:clock', { type: 'note', payload: 1 }, { timeoutMs: 5_000 });
    // NTP steps the wall clock an hour forward while the publish waits.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
    await expect(publishing).resolves.toMatchObject({ channel: 'agent:clock', offset: 1 });
    expect(server.peers.length).toBeGreaterThanOrEqual(2); // it did wait through a reconnect
  });
});
