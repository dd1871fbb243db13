/**
 * @apix/sdk — the APIX client for browsers and Node.
 *
 *   const client = new ApiXClient('wss://apix.example.com/ws', { token: getToken });
 *   client.subscribe('agent:a-1', { publication: (ctx) => render(ctx.event) });
 *   client.connect();
 */
export { ApiXClient, type HistoryOptions, type PublishOptions } from './client.js';
export { endpointPicker, type ApiXEndpoints } from './endpoints.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_RECONNECT_DELAY_MS,
  DEFAULT_MIN_RECONNECT_DELAY_MS,
  DEFAULT_PONG_TIMEOUT_MS,
  DEFAULT_REFRESH_MARGIN_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type ApiXClientOptions,
  type HeartbeatOptions,
  type TokenSource,
} from './client-options.js';
export { ClientCloseCodes, ClientState } from './client-state.js';
export { Subscription, type SubscriptionOptions } from './subscription.js';
export { InboxIterator, inboxChannel, type InboxItem, type InboxOptions } from './inbox.js';
export { SubscriptionState } from './subscription-state.js';
export {
  ApiXClientError,
  ClientErrorCodes,
  hasErrorCode,
  isApiXClientError,
  type ApiXClientErrorCode,
  type ClientErrorCode,
} from './errors.js';
export {
  isDomainEvent,
  type ClientErrorContext,
  type ClientEvents,
  type ClientStateContext,
  type ClosedContext,
  type ConnectedContext,
  type ConnectingContext,
  type DisconnectedContext,
  type HeartbeatContext,
  type PayloadOf,
  type MessageFailedContext,
  type PublicationContext,
  type PublishEventInput,
  type ReceivedEvent,
  type RefreshedContext,
  type SubscribedContext,
  type SubscribingContext,
  type SubscriptionErrorContext,
  type SubscriptionEvents,
  type SubscriptionHandlers,
  type SubscriptionStateContext,
  type UnsubscribedContext,
} from './events.js';
export type { DisconnectCause, DisconnectCauseKind } from './disconnect-cause.js';
export { Backoff, backoffCeiling, fullJitterDelay, type BackoffOptions } from './backoff.js';
export type { Listener } from './typed-emitter.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket.js';
// Protocol types an application meets through the SDK's API, re-exported so it needs one import.
export { CloseCodes, ErrorCodes, shouldReconnect } from '@apix/protocol/core';
export type {
  ChannelName,
  DomainEventType,
  DomainPayloads,
  ErrorCode,
  HistoryResult,
  PublishResult,
  StreamPosition,
  SubscriptionFilters,
} from '@apix/protocol';
