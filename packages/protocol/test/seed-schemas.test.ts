import { describe, expect, it } from 'vitest';
import { apiXConnectionSchema, apiXSubscriptionSchema, clientTypeSchema, connectionStatusSchema, channelTypeSchema } from '@apix/protocol';

describe('seed enums', () => {
  it('hold the seed values', () => {
    expect(clientTypeSchema.options.sort()).toEqual(['API_CLIENT', 'INTERNAL_SERVICE', 'MOBILE_APP', 'SDK_WIDGET', 'WEB_APP']);
    expect(connectionStatusSchema.options.sort()).toEqual(['CONNECTED', 'DISCONNECTED', 'RECONNECTING', 'SUSPENDED']);
    expect(channelTypeSchema.options.sort()).toEqual(
      ['AGENT_EVENTS', 'ORGANIZATION', 'PRIVATE_USER', 'PROVIDER_EVENTS', 'SYSTEM_EVENTS', 'TOOL_EVENTS', 'WORKFLOW_EVENTS'],
    );
  });
});

describe('apiXSubscriptionSchema', () => {
  it('defaults acknowledgment to false', () => {
    expect(apiXSubscriptionSchema.parse({ channels: ['org'] })).toEqual({ channels: ['org'], acknowledgment: false });
  });
  it('checks channel names and filters', () => {
    expect(apiXSubscriptionSchema.safeParse({ channels: ['org:a b'] }).success).toBe(false);
    expect(apiXSubscriptionSchema.safeParse({ channels: ['org'], filters: { anything: 1 } }).success).toBe(false);
  });
});

describe('apiXConnectionSchema', () => {
  const connection = {
    sessionId: 's1',
    clientType: 'SDK_WIDGET',
    authentication: { token: 't', organizationId: 'acme' },
    subscriptions: ['agent:a1', 'user:u1'],
    metadata: { ua: 'x' },
  };
  it('accepts the seed shape', () => {
    expect(apiXConnectionSchema.safeParse(connection).success).toBe(true);
  });
  it('refuses invalid subscriptions and client types', () => {
    expect(apiXConnectionSchema.safeParse({ ...connection, subscriptions: ['user'] }).success).toBe(false);
    expect(apiXConnectionSchema.safeParse({ ...connection, clientType: 'BROWSER' }).success).toBe(false);
  });
});
