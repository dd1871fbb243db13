/**
 * `@apix/protocol/core`: the part of the protocol that needs no zod — the error catalogue,
 * close codes, the channel grammar and wire constants. The SDK imports its runtime values
 * from here so a browser bundle does not carry the schemas (types still come from the main
 * entry, at no cost). Everything here is also exported by the main entry.
 */
export * from './errors.js';
export * from './channel-grammar.js';
export * from './wire-constants.js';
