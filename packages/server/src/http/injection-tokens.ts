/** Nest injection tokens for the objects the composition root builds outside Nest. */
export const PUBLISHER = Symbol('EventPublisher');
export const HISTORY_READER = Symbol('HistoryReader');
export const CREDENTIAL_VERIFIER = Symbol('CredentialVerifier');
export const SERVER_RUNTIME = Symbol('ServerRuntime');
export const SIGNING_KEY = Symbol('SigningKey');
export const CONTROL_PLANE = Symbol('ControlPlaneContext');
export const REALTIME_OBSERVER = Symbol('RealtimeObserver');
export const PRESENCE_QUERY = Symbol('PresenceQuery');
export const RATE_LIMITS = Symbol('RateLimits');
export const QUOTAS = Symbol('StoredQuotas');
export const DEAD_LETTERS = Symbol('DeadLetters');
