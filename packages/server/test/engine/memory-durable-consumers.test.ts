import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { MemoryDurableConsumers } from '../../src/engine/memory-durable-consumers.js';
import { describeDurableConsumersContract } from './durable-consumers-contract.js';

const DEFAULT_RETENTION = 10_000;

describeDurableConsumersContract('memory', async () => {
  const broker = new MemoryBroker();
  const consumers = new MemoryDurableConsumers(broker);
  return {
    consumers,
    append: async (channelKey, data, keepLast = DEFAULT_RETENTION) =>
      (await broker.publish(channelKey, data, { historySize: keepLast, historyTtlMs: 3_600_000 })).offset,
    removeLog: (channelKey) => broker.removeHistory(channelKey),
    close: async () => {
      await consumers.close();
      await broker.close();
    },
  };
});
