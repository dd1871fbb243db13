/**
 * The seed's "Supported Event Types" (shared/seeds/003), in the seed's order, written out
 * independently of the source so the tests can catch a drift.
 */
export const SEED_PROTOCOL_TYPES = [
  'connection.established',
  'connection.error',
  'connection.disconnected',
  'subscription.added',
  'subscription.removed',
  'heartbeat.ping',
  'heartbeat.pong',
  'message.queued',
  'message.sent',
  'message.failed',
  'reconnection.attempt',
];
export const SEED_DOMAIN_TYPES = [
  'tool_call_start',
  'tool_call_result',
  'tool_call_error',
  'agent_status_update',
  'workflow_state_change',
  'provider_health_update',
  'system_notification',
];

