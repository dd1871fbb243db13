import { z } from 'zod';

/** What kind of client holds a connection (seed enum). Reported by the client, used for metrics and audit only. */
export const ClientType = {
  WEB_APP: 'WEB_APP',
  MOBILE_APP: 'MOBILE_APP',
  SDK_WIDGET: 'SDK_WIDGET',
  API_CLIENT: 'API_CLIENT',
  INTERNAL_SERVICE: 'INTERNAL_SERVICE',
} as const;
export type ClientType = (typeof ClientType)[keyof typeof ClientType];
export const clientTypeSchema = z.enum(ClientType);

/** Lifecycle of a connection as tracked by the ConnectionManager (seed enum). */
export const ConnectionStatus = {
  CONNECTED: 'CONNECTED',
  DISCONNECTED: 'DISCONNECTED',
  RECONNECTING: 'RECONNECTING',
  SUSPENDED: 'SUSPENDED',
} as const;
export type ConnectionStatus = (typeof ConnectionStatus)[keyof typeof ConnectionStatus];
export const connectionStatusSchema = z.enum(ConnectionStatus);

/** Kind of channel, derived from the channel name's namespace (seed enum). */
export const ChannelType = {
  AGENT_EVENTS: 'AGENT_EVENTS',
  TOOL_EVENTS: 'TOOL_EVENTS',
  WORKFLOW_EVENTS: 'WORKFLOW_EVENTS',
  PROVIDER_EVENTS: 'PROVIDER_EVENTS',
  SYSTEM_EVENTS: 'SYSTEM_EVENTS',
  PRIVATE_USER: 'PRIVATE_USER',
  ORGANIZATION: 'ORGANIZATION',
} as const;
export type ChannelType = (typeof ChannelType)[keyof typeof ChannelType];
export const channelTypeSchema = z.enum(ChannelType);
