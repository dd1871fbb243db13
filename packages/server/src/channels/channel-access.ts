import { ApiXError, channelKey, parseChannelName, type ParsedChannel } from '@apix/protocol';
import type { Principal } from '../identity/principal.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { ChannelAction, ChannelAuthorizer } from './channel-authorizer.js';

export interface ResolvedChannel {
  readonly channel: ParsedChannel;
  /** Broker/storage key, always built from the principal's own organisation. */
  readonly key: string;
}

/**
 * The one gate every channel operation passes (WebSocket and HTTP alike): grammar, then
 * permission. A refused permission and an unknown channel give the same error, so a
 * client cannot probe which channels exist.
 */
export class ChannelAccess {
  readonly #authorizer: ChannelAuthorizer;
  readonly #observer: RealtimeObserver;

  constructor(authorizer: ChannelAuthorizer, observer: RealtimeObserver = {}) {
    this.#authorizer = authorizer;
    this.#observer = observer;
  }

  async resolve(principal: Principal, name: unknown, action: ChannelAction): Promise<ResolvedChannel> {
    const parsed = parseChannelName(name);
    if (typeof parsed === 'string') throw new ApiXError('CHANNEL_INVALID', parsed);
    let allowed: boolean;
    try {
      allowed = await this.#authorizer.authorize(principal, parsed, action);
    } catch (error) {
      // Permissions could not be read (storage down): refuse, with a code that says "retry".
      throw new ApiXError('UNAVAILABLE', 'permissions could not be checked; retry', { cause: error instanceof Error ? error.message : String(error) });
    }
    if (!allowed) {
      this.#observer.accessDenied?.(principal, parsed.name, action);
      throw new ApiXError('CHANNEL_FORBIDDEN', undefined, { channel: parsed.name });
    }
    return { channel: parsed, key: channelKey(principal.organizationId, parsed.name) };
  }
}
