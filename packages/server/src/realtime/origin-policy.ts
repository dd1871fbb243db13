import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logging/logger.js';
import type { RealtimeObserver } from './realtime-observer.js';

/** Origins are client input: logged and audited cut to this many characters. */
const MAX_LOGGED_ORIGIN_CHARS = 200;

/**
 * Which browser origins may open a WebSocket. Browsers always send `Origin`; servers and
 * mobile apps usually don't, and are not subject to cross-site attacks, so no Origin passes.
 * - `*`: any origin;
 * - a list: exactly those origins (scheme://host[:port]);
 * - empty (default): only the origin whose host is the Host the request came to.
 */
export class OriginPolicy {
  readonly #allowAll: boolean;
  readonly #allowed: ReadonlySet<string>;

  constructor(setting: string) {
    const entries = setting.split(',').map((s) => s.trim()).filter(Boolean);
    this.#allowAll = entries.includes('*');
    this.#allowed = new Set(entries.map((e) => e.toLowerCase().replace(/\/$/, '')));
  }

  allows(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    if (this.#allowAll) return true;
    if (this.#allowed.size > 0) return this.#allowed.has(origin.toLowerCase());
    try {
      return new URL(origin).host.toLowerCase() === (request.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }
}

/** A refused Origin is logged (warn) and audited: someone's page tried to reach APIX from a site that may not. */
export function reportOriginRefused(request: IncomingMessage, logger: Logger, observer: RealtimeObserver | undefined): void {
  const origin = String(request.headers.origin ?? '').slice(0, MAX_LOGGED_ORIGIN_CHARS);
  const remoteAddress = request.socket.remoteAddress;
  logger.warn({ origin, remoteAddress }, 'websocket upgrade refused: origin not allowed');
  observer?.originRefused?.({ origin, remoteAddress });
}
