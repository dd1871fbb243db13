/**
 * A subscription's states. The state says what the application wants and what the server
 * has: `unsubscribed` — not wanted (or refused for good); `subscribing` — wanted, not active
 * on the server yet (first subscribe, or waiting for a reconnect); `subscribed` — active,
 * publications flow.
 *
 *   unsubscribed ──subscribe()──► subscribing ──reply ok──► subscribed
 *        ▲                           │   ▲                      │
 *        ├── unsubscribe() / refused ┘   └── connection lost ───┤
 *        └────────────── unsubscribe() / revoked ───────────────┘
 */
export const SubscriptionState = {
  Unsubscribed: 'unsubscribed',
  Subscribing: 'subscribing',
  Subscribed: 'subscribed',
} as const;
export type SubscriptionState = (typeof SubscriptionState)[keyof typeof SubscriptionState];

export const SUBSCRIPTION_TRANSITIONS: Readonly<Record<SubscriptionState, readonly SubscriptionState[]>> = {
  unsubscribed: ['subscribing'],
  subscribing: ['subscribed', 'unsubscribed'],
  subscribed: ['subscribing', 'unsubscribed'],
};
