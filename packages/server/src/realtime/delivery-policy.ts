import { backoffCeilingMs, fullJitterBackoffMs, type BackoffPolicy, type RandomSource } from '../support/backoff.js';

/**
 * How an acknowledged subscription redelivers (docs/adr/0038). Delivery number `n` (1 on the
 * first send) of an entry that got no ack is followed, `ackTimeoutMs + fullJitter(n - 1)`
 * later, by delivery `n + 1` — or, when `n` is `maxDeliveries`, by the dead letter. The fixed
 * `ackTimeoutMs` is the time a healthy client needs to ack (full jitter alone could redeliver
 * after 0 ms); the jittered part spreads a crowd that lost its acks together.
 */
export interface DeliveryPolicy extends BackoffPolicy {
  readonly ackTimeoutMs: number;
  /** Deliveries in all, the first included; redeliveries = maxDeliveries - 1. */
  readonly maxDeliveries: number;
  /** Unacked events one subscription holds at most; no read while it is full. */
  readonly window: number;
  /**
   * Queue groups (ADR 0042): an event no member was handed for this long is claimed by another
   * member. Raised to `groupIdleFloorMs` when set lower (see there); undefined: the floor.
   */
  readonly groupIdleMs?: number;
}

/** Timers on a loaded node fire late; the floor keeps this much room for that. */
const IDLE_MARGIN_MS = 1_000;

/**
 * The least idle time that never takes an event from a live member: a live member's unacked
 * event is redelivered to itself at most `ackTimeoutMs + capMs` after its last delivery (which
 * resets the idle clock), so only a member that stopped (died, or its node did) lets an event
 * idle longer than that.
 */
export function groupIdleFloorMs(policy: DeliveryPolicy): number {
  return policy.ackTimeoutMs + policy.capMs + IDLE_MARGIN_MS;
}

/** The idle time a queue group's claim pass uses: the configured one, at least the floor (the default). */
export function effectiveGroupIdleMs(policy: DeliveryPolicy): number {
  return Math.max(policy.groupIdleMs ?? 0, groupIdleFloorMs(policy));
}

/** The defaults (config: ACK_*), documented in the README's delivery contract. */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  ackTimeoutMs: 5_000,
  baseMs: 1_000,
  factor: 2,
  capMs: 60_000,
  maxDeliveries: 5,
  window: 100,
};

/** A channel's own values (channel settings) over the server's; each field may be left out. */
export function resolveDeliveryPolicy(defaults: DeliveryPolicy, channel: Partial<DeliveryPolicy> | undefined): DeliveryPolicy {
  if (!channel) return defaults;
  const merged = { ...defaults, ...stripUndefined(channel) };
  // A channel cap below the server's base would make the backoff reject; keep it coherent.
  return merged.capMs < merged.baseMs ? { ...merged, capMs: merged.baseMs } : merged;
}

/** When the delivery numbered `deliveryCount` is due again (ms after it was sent). */
export function redeliveryDelayMs(policy: DeliveryPolicy, deliveryCount: number, random: RandomSource = Math.random): number {
  return policy.ackTimeoutMs + fullJitterBackoffMs(deliveryCount - 1, policy, random);
}

/** The bounds `redeliveryDelayMs` draws from: [ackTimeout, ackTimeout + ceiling). Tests assert these. */
export function redeliveryBoundsMs(policy: DeliveryPolicy, deliveryCount: number): { min: number; max: number } {
  return { min: policy.ackTimeoutMs, max: policy.ackTimeoutMs + backoffCeilingMs(deliveryCount - 1, policy) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
