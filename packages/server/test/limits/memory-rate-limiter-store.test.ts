import { MemoryRateLimiterStore } from '../../src/limits/memory-rate-limiter-store.js';
import { rateLimiterStoreContract } from './rate-limiter-contract.js';

rateLimiterStoreContract('memory', async () => new MemoryRateLimiterStore());
