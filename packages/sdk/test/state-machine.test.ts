import { describe, expect, it } from 'vitest';
import { CLIENT_TRANSITIONS, ClientState } from '../src/client-state.js';
import { StateMachine } from '../src/state-machine.js';
import { SUBSCRIPTION_TRANSITIONS, SubscriptionState } from '../src/subscription-state.js';

describe('client state machine', () => {
  it('allows the documented lifecycle', () => {
    const machine = new StateMachine<ClientState>('client', ClientState.Disconnected, CLIENT_TRANSITIONS);
    const path: ClientState[] = ['connecting', 'connected', 'disconnected', 'connecting', 'disconnected', 'connecting', 'connected', 'closed', 'connecting', 'closed'];
    for (const next of path) machine.moveTo(next);
    expect(machine.state).toBe('closed');
  });

  it.each([
    ['disconnected', 'connected'],
    ['connected', 'connecting'],
    ['closed', 'connected'],
    ['closed', 'disconnected'],
  ] as const)('refuses %s -> %s', (from, to) => {
    const machine = new StateMachine<ClientState>('client', from, CLIENT_TRANSITIONS);
    expect(() => machine.moveTo(to)).toThrow(/illegal transition/);
  });

  it('is a string enum with the four documented values', () => {
    expect(Object.values(ClientState).sort()).toEqual(['closed', 'connected', 'connecting', 'disconnected']);
  });
});

describe('subscription state machine', () => {
  it('allows subscribe, drop and resume, unsubscribe', () => {
    const machine = new StateMachine<SubscriptionState>('sub', SubscriptionState.Unsubscribed, SUBSCRIPTION_TRANSITIONS);
    for (const next of ['subscribing', 'subscribed', 'subscribing', 'subscribed', 'unsubscribed', 'subscribing', 'unsubscribed'] as const) machine.moveTo(next);
    expect(machine.state).toBe('unsubscribed');
  });

  it('never jumps from unsubscribed straight to subscribed', () => {
    const machine = new StateMachine<SubscriptionState>('sub', SubscriptionState.Unsubscribed, SUBSCRIPTION_TRANSITIONS);
    expect(() => machine.moveTo('subscribed')).toThrow(/illegal transition/);
  });
});
