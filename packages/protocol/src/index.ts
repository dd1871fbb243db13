export * from './enums.js';
export * from './channel-name.js';
export * from './errors.js';
export * from './event-types.js';
export * from './event.js';
export * from './filters.js';
export * from './position.js';
export * from './client-frames.js';
export * from './server-frames.js';
export * from './seed-schemas.js';
export * from './http.js';
export * from './storage-safe.js';

/** Protocol version, sent in `metadata.version` when the publisher gives none. */
export const PROTOCOL_VERSION = '1';
export * from './control-plane.js';
export * from './encryption.js';
export * from './monitoring.js';
