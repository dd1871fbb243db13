// The channel grammar without zod: the SDK imports it through `@apix/protocol/core`.
import type { ChannelType } from './enums.js';

/**
 * Channel names are relative to the organisation of the credential that uses them; a client
 * can never name another tenant's channel. One strict grammar, checked before anything else
 * sees the name:
 *
 *   channel   = namespace *( ":" segment )
 *   namespace = "agent" / "tool" / "workflow" / "provider" / "system" / "user" / "org" / "room"
 *   segment   = 1*64( ALPHA / DIGIT / "_" / "-" )     ; ASCII only
 *
 * At most 8 segments after the namespace and 200 characters in all. Case matters (`Agent`
 * is not a namespace). Nothing else is accepted: no whitespace, no NUL, no "." or "/", no
 * percent-encoding, no Unicode look-alikes, no wildcards ("*", ">", "#").
 */
export const CHANNEL_NAME_MAX_LENGTH = 200;
export const CHANNEL_SEGMENT_MAX_LENGTH = 64;
export const CHANNEL_MAX_SEGMENTS = 8;

export type ChannelName = string & { readonly __brand?: 'ChannelName' };
export type OrganizationId = string & { readonly __brand?: 'OrganizationId' };
export type UserId = string & { readonly __brand?: 'UserId' };

/** One segment of a channel name; organisation and user ids share the alphabet. */
export const CHANNEL_SEGMENT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SEGMENT = CHANNEL_SEGMENT_PATTERN;

/** Namespace → channel type. `room` channels are organisation-wide channels for collaborative work. */
// String literals, not ChannelType.X: this file stays free of zod (the SDK's browser bundle imports it).
export const CHANNEL_NAMESPACES = {
  agent: 'AGENT_EVENTS',
  tool: 'TOOL_EVENTS',
  workflow: 'WORKFLOW_EVENTS',
  provider: 'PROVIDER_EVENTS',
  system: 'SYSTEM_EVENTS',
  user: 'PRIVATE_USER',
  org: 'ORGANIZATION',
  room: 'ORGANIZATION',
} as const satisfies Record<string, ChannelType>;
export type ChannelNamespace = keyof typeof CHANNEL_NAMESPACES;

export interface ParsedChannel {
  readonly name: ChannelName;
  readonly namespace: ChannelNamespace;
  readonly segments: readonly string[];
  readonly type: ChannelType;
  /** For `user:<id>…` channels: the only user who may use the channel. */
  readonly ownerUserId?: UserId;
}

/** Why a name was refused, in words a developer can act on. */
export type ChannelNameProblem = string;

/** Parses a channel name; returns a problem description instead of throwing. */
export function parseChannelName(input: unknown): ParsedChannel | ChannelNameProblem {
  if (typeof input !== 'string') return 'channel name must be a string';
  if (input.length === 0) return 'channel name is empty';
  if (input.length > CHANNEL_NAME_MAX_LENGTH) return `channel name is longer than ${CHANNEL_NAME_MAX_LENGTH} characters`;
  const parts = input.split(':');
  const [namespace, ...segments] = parts as [string, ...string[]];
  if (!Object.hasOwn(CHANNEL_NAMESPACES, namespace)) {
    return `unknown channel namespace "${printable(namespace)}"; expected one of ${Object.keys(CHANNEL_NAMESPACES).join(', ')}`;
  }
  if (segments.length > CHANNEL_MAX_SEGMENTS) return `channel name has more than ${CHANNEL_MAX_SEGMENTS} segments`;
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      return `channel segment "${printable(segment)}" must be 1-${CHANNEL_SEGMENT_MAX_LENGTH} of A-Z a-z 0-9 _ -`;
    }
  }
  const ns = namespace as ChannelNamespace;
  if (ns === 'user' && segments.length === 0) return 'a user channel names its user: user:<userId>';
  const parsed: ParsedChannel = {
    name: input,
    namespace: ns,
    segments,
    type: CHANNEL_NAMESPACES[ns],
    ...(ns === 'user' ? { ownerUserId: segments[0] } : {}),
  };
  return parsed;
}

export function isValidChannelName(input: unknown): input is ChannelName {
  return typeof parseChannelName(input) !== 'string';
}

/** The channel type of a valid name; throws on an invalid one (validate first). */
export function channelTypeOf(name: ChannelName): ChannelType {
  const parsed = parseChannelName(name);
  if (typeof parsed === 'string') throw new TypeError(parsed);
  return parsed.type;
}

/**
 * The broker/storage key of a channel: `<organisationId>/<channel>`. Injective in
 * (organisation, channel) because an organisation id never contains "/" (its grammar
 * forbids it), so the first "/" splits the key unambiguously.
 */
export function channelKey(organizationId: OrganizationId, channel: ChannelName): string {
  return `${organizationId}/${channel}`;
}

/** Inverse of {@link channelKey}. */
export function splitChannelKey(key: string): { organizationId: OrganizationId; channel: ChannelName } {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new TypeError(`not a channel key: ${key}`);
  return { organizationId: key.slice(0, slash), channel: key.slice(slash + 1) };
}

/** Escapes control and non-ASCII characters so an error message shows exactly what was sent. */
function printable(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return shown.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
