/**
 * The client's states.
 *
 *   disconnected ──connect()──► connecting ──connection.established──► connected
 *        ▲  ▲                     │    │                                  │
 *        │  └─ attempt failed ────┘    │                                  │
 *        └────── socket lost (reconnect code) ───────────────────────────┘
 *   any ──disconnect() or terminal close code──► closed ──connect()──► connecting
 *
 * `disconnected` is also where the client waits out the backoff between attempts; only
 * `closed` means "nothing will happen until the application calls connect() again".
 */
export const ClientState = {
  Disconnected: 'disconnected',
  Connecting: 'connecting',
  Connected: 'connected',
  Closed: 'closed',
} as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

export const CLIENT_TRANSITIONS: Readonly<Record<ClientState, readonly ClientState[]>> = {
  disconnected: ['connecting', 'closed'],
  connecting: ['connected', 'disconnected', 'closed'],
  connected: ['disconnected', 'closed'],
  closed: ['connecting'],
};

/**
 * Close codes for disconnects the client decides on itself. Where the protocol has a code
 * with the same meaning, the client uses it; the rest are in the 3000–3999 range, which
 * `shouldReconnect` treats as "reconnect".
 */
export const ClientCloseCodes = {
  /** `connection.established` did not arrive in time (the same meaning as the server's 4001). */
  CONNECT_TIMEOUT: 4001,
  /** No `heartbeat.pong` in time: the link is presumed dead (the same meaning as the server's 4002). */
  NO_PONG: 4002,
  /** The token function threw or rejected; the next attempt calls it again. */
  TOKEN_UNAVAILABLE: 3001,
  /** A subscribe request got no reply: the connection is not trusted any more. */
  SUBSCRIBE_TIMEOUT: 3002,
  /** The socket closed without a close frame (browsers report 1006). */
  ABNORMAL: 1006,
} as const;
