import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { redisTargetOf } from '../../src/engine/redis-engine-config.js';

describe('Redis engine settings', () => {
  it('the embedded engine unless REDIS_URL or REDIS_CLUSTER_NODES is set', () => {
    expect(redisTargetOf(loadConfig({}))).toBeUndefined();
    expect(redisTargetOf(loadConfig({ REDIS_URL: 'redis://r:6379/2' }))).toEqual({ url: 'redis://r:6379/2' });
    expect(redisTargetOf(loadConfig({ REDIS_URL: 'rediss://r:6380' }))).toEqual({ url: 'rediss://r:6380' });
  });

  it('a Redis Cluster takes precedence, from host:port seeds', () => {
    const config = loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001' });
    expect(redisTargetOf(config)).toEqual({ clusterNodes: ['10.0.0.1:7000', '10.0.0.2:7001'] });
    expect(config.REDIS_KEY_PREFIX).toBe('apix');
  });

  it.each([
    ['REDIS_URL', 'http://r:6379'],
    ['REDIS_CLUSTER_NODES', 'r1:7000,,r2'],
    ['REDIS_CLUSTER_NODES', 'r1'],
    ['REDIS_KEY_PREFIX', 'a{b}'],
    ['REDIS_KEY_PREFIX', 'x'.repeat(65)],
  ])('refuses %s=%s with one line naming it', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`${name}=`);
  });
});
