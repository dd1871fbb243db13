import type { IncomingMessage } from 'node:http';

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
