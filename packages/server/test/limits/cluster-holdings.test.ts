import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterChannelCount } from '../../src/limits/cluster-channels.js';
import { RedisHoldings } from '../../src/limits/cluster-holdings.js';
import { QuotaUsage } from '../../src/limits/quota-usage.js';
import { FixedQuotas, type OrganizationQuotas } from '../../src/limits/quotas.js';
import { RedisProcess } from '../cluster/redis-processes.js';

/** The cluster-wide quota ledger (ADR 0033) on the machine's Redis, each run under its own prefix. */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `apixtest-q-${randomUUID()}`;
const open: RedisHoldings[] = [];
afterAll(() => Promise.all(open.map((h) => h.close())));

async function ledger(nodeId: string, leaseMs = 15_000, url = REDIS_URL): Promise<RedisHoldings> {
  const holdings = await RedisHoldings.connect({ url, prefix, nodeId, leaseMs, commandTimeoutMs: 300 });
  open.push(holdings);
  return holdings;
}

const quotas = (overrides: Partial<OrganizationQuotas>) =>
  new FixedQuotas({ historyBytes: 1e9, channels: 100, connections: 100, subscriptions: 100, publishesPerSecond: 1e6, publishBytesPerSecond: 1e9, ...overrides });

describe('RedisHoldings', () => {
  it('admits against the sum of the live nodes’ counts; a node’s own count is replaced, never added to', async () => {
    const [a, b] = [await ledger('node-a'), await ledger('node-b')];
    expect(await a.admit('connections', 'org-sum', 2, 3)).toBe(true);
    expect(await b.admit('connections', 'org-sum', 2, 3)).toBe(false);
    expect(await b.admit('connections', 'org-sum', 1, 3)).toBe(true);
    // Node A reports its new absolute count (1): room for one more on B.
    await a.record([{ kind: 'connections', organizationId: 'org-sum', nodeTotal: 1 }]);
    expect(await b.admit('connections', 'org-sum', 2, 3)).toBe(true);
    expect(await a.admit('subscriptions', 'org-sum', 3, 3)).toBe(true);
  });

  it('a node that stops renewing (it died) drops out after its lease', async () => {
    const dead = await ledger('node-dead', 1_500);
    const live = await ledger('node-live', 1_500);
    expect(await dead.admit('subscriptions', 'org-lease', 5, 5)).toBe(true);
    expect(await live.admit('subscriptions', 'org-lease', 1, 5)).toBe(false);
    const deadline = performance.now() + 10_000;
    while (!(await live.admit('subscriptions', 'org-lease', 5, 5))) {
      if (performance.now() > deadline) throw new Error('the dead node’s count never expired');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('counts channels per organisation across nodes', async () => {
    const [a, b] = [await ledger('node-a'), await ledger('node-b')];
    const q = quotas({ channels: 2 });
    const onA = new ClusterChannelCount(a, q, { channelLeaseMs: 60_000, recheckAfterMs: 60_000, maxRemembered: 100 });
    const onB = new ClusterChannelCount(b, q, { channelLeaseMs: 60_000, recheckAfterMs: 60_000, maxRemembered: 100 });
    await onA.admit('org-ch', 'org-ch/agent:1');
    await onB.admit('org-ch', 'org-ch/agent:2');
    await expect(onA.admit('org-ch', 'org-ch/agent:3')).rejects.toMatchObject({ code: 'APIX_ERR_QUOTA_EXCEEDED' });
    await onB.admit('org-ch', 'org-ch/agent:1');
    await onA.admit('org-other', 'org-other/agent:3');
  });
});

describe('QuotaUsage over a stalled Redis', () => {
  it('fails open to the per-node count within the ledger timeout, never waiting on Redis', async () => {
    const redis = await RedisProcess.start();
    try {
      const holdings = await ledger('node-stalled', 15_000, redis.url);
      const usage = new QuotaUsage(quotas({ connections: 2 }), { ledger: holdings });
      await usage.admitConnection('org-stall');
      redis.pause();
      const started = performance.now();
      await usage.admitConnection('org-stall');
      expect(performance.now() - started).toBeLessThan(1_500);
      // The node's own count still bounds it: two held here, the quota is two.
      await expect(usage.admitConnection('org-stall')).rejects.toMatchObject({ code: 'APIX_ERR_QUOTA_EXCEEDED' });
      redis.resume();
      await usage.close();
    } finally {
      redis.resume();
      await redis.stop();
    }
  });
});
