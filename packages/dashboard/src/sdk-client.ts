import { ApiXClient } from '@apix/sdk';

/** The server's WebSocket endpoint, on the dashboard's own origin. */
export function websocketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export type FrameDirection = 'in' | 'out';

/**
 * The SDK with the browser's WebSocket, optionally tapped so every raw frame is reported
 * (the WebSocket console shows them). The tap is a subclass: the SDK sees a normal socket.
 */
export function createClient(token: string, onFrame?: (direction: FrameDirection, data: string) => void, onSocket?: (socket: WebSocket) => void): ApiXClient {
  const tap: (direction: FrameDirection, data: string) => void = onFrame ?? (() => undefined);
  const Tapped = onFrame
    ? class extends WebSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          onSocket?.(this);
          this.addEventListener('message', (event: MessageEvent) => tap('in', String(event.data)));
        }
        override send(data: string | ArrayBuffer | Blob | ArrayBufferView<ArrayBuffer>): void {
          tap('out', typeof data === 'string' ? data : '[binary]');
          super.send(data);
        }
      }
    : WebSocket;
  return new ApiXClient(websocketUrl(), { token, WebSocket: Tapped as never, clientType: 'WEB_APP', name: 'apix-dashboard', minReconnectDelayMs: 200, maxReconnectDelayMs: 2_000 });
}
