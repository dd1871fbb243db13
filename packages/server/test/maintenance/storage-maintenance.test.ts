import { describe, expect, it } from 'vitest';
import { StorageMaintenance } from '../../src/maintenance/storage-maintenance.js';
import { capturingLogger } from '../support/records-fixtures.js';
import { BACKENDS, uniqueId, useTestDatabase } from '../storage/support/test-databases.js';

const SETTINGS = { intervalMs: 3_600_000, staleHeartbeatMs: 60_000, connectionRowRetentionMs: 7 * 86_400_000 };

describe.each(BACKENDS)('start-up reconcile on %s', (kind) => {
  const ctx = useTestDatabase(kind);

  /** Rows a crashed run left: CONNECTED (fresh or stale heartbeat) on an old node, subscribed to two channels. */
  async function leftovers(org: string, nodeId: string) {
    await ctx.repos.channels.create(org, 'agent:x');
    await ctx.repos.channels.create(org, 'agent:y');
    await ctx.repos.channels.adjustSubscribersBatch([{ organizationId: org, channel: 'agent:x', delta: 5 }, { organizationId: org, channel: 'agent:y', delta: 3 }]);
    const fresh = { organizationId: org, userId: 'u', clientType: 'WEB_APP' as const, nodeId, channels: ['agent:x'], at: new Date() };
    await ctx.repos.connections.recordConnectedBatch([
      { ...fresh, sessionId: uniqueId('fresh') },
      { ...fresh, sessionId: uniqueId('stale'), channels: ['agent:x', 'agent:y'], at: new Date(Date.now() - 3_600_000) },
    ]);
  }

  it('embedded (one node): every open row of an earlier run is closed, and counts are recomputed from open rows', async () => {
    const org = uniqueId('org');
    await leftovers(org, uniqueId('node_old'));
    const maintenance = new StorageMaintenance(ctx.repos, SETTINGS, capturingLogger().logger);
    try {
      await maintenance.reconcileAtStartup({ exclusive: true, nodeId: uniqueId('node_now') });
    } finally {
      maintenance.stop();
    }
    expect((await ctx.repos.connections.countByStatus(org)).CONNECTED).toBe(0);
    expect((await ctx.repos.channels.findByName(org, 'agent:x'))?.subscribers).toBe(0);
    expect((await ctx.repos.channels.findByName(org, 'agent:y'))?.subscribers).toBe(0);
  });

  it('shared PostgreSQL (several nodes): only rows whose heartbeat is stale are closed; counts follow the open rows', async () => {
    const org = uniqueId('org');
    await leftovers(org, uniqueId('node_other'));
    const maintenance = new StorageMaintenance(ctx.repos, SETTINGS, capturingLogger().logger);
    try {
      await maintenance.reconcileAtStartup({ exclusive: false, nodeId: uniqueId('node_now') });
    } finally {
      maintenance.stop();
    }
    // The fresh row may belong to a live node: kept. The stale one is closed.
    expect(await ctx.repos.connections.countByStatus(org)).toMatchObject({ CONNECTED: 1, DISCONNECTED: 1 });
    expect((await ctx.repos.channels.findByName(org, 'agent:x'))?.subscribers).toBe(1);
    expect((await ctx.repos.channels.findByName(org, 'agent:y'))?.subscribers).toBe(0);
  });
});
