export { startApixServer, type ApiXServer, type StartOptions } from './apix-server.js';
export { buildConfig, loadConfig, configSchema, ConfigError, type ApiXConfig } from './config/config.js';
export type { Broker, BrokerEventHandler, BrokerPublication, HistoryOptions, HistorySlice, PublishOptions, PublishOutcome } from './engine/broker.js';
export { MemoryBroker } from './engine/memory-broker.js';
export { DefaultChannelPolicy, type ChannelAuthorizer, type ChannelAction } from './channels/channel-authorizer.js';
export { TokenIssuer } from './identity/token-issuer.js';
export { TokenVerifier } from './identity/token-verifier.js';
export type { Principal } from './identity/principal.js';
export { WEBSOCKET_PATH } from './realtime/apix-gateway.js';
