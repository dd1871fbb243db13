import { describe, expect, it } from 'vitest';
import { RetryManager } from '../../src/realtime/retry-manager.js';
import { redeliveryBoundsMs, redeliveryDelayMs, resolveDeliveryPolicy, DEFAULT_DELIVERY_POLICY } from '../../src/realtime/delivery-policy.js';
import { monotonicNow } from '../../src/support/monotonic-clock.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RetryManager', () => {
  it('holds one timer per target, for the earliest time it was armed for', async () => {
    const retries = new RetryManager();
    const fired: string[] = [];
    const a = { onDue: () => fired.push('a') };
    const b = { onDue: () => fired.push('b') };
    const now = monotonicNow();
    retries.arm(a, now + 200);
    retries.arm(a, now + 10); // earlier: replaces
    retries.arm(a, now + 100); // later than armed: ignored
    retries.arm(b, now + 30);
    expect(retries.armed).toBe(2);
    await tick(150);
    expect(fired.sort()).toEqual(['a', 'b']); // each once, although `a` was armed three times
    await tick(150);
    expect(fired).toHaveLength(2);
    expect(retries.armed).toBe(0);
  });

  it('disarm and close cancel timers', async () => {
    const retries = new RetryManager();
    let fired = 0;
    const target = { onDue: () => void fired++ };
    retries.arm(target, monotonicNow() + 5);
    retries.disarm(target);
    retries.arm({ onDue: () => void fired++ }, monotonicNow() + 5);
    retries.close();
    await tick(30);
    expect(fired).toBe(0);
    expect(retries.armed).toBe(0);
  });
});

describe('delivery policy', () => {
  it('redelivers after the ack timeout plus full jitter under the capped exponential ceiling', () => {
    const policy = { ...DEFAULT_DELIVERY_POLICY, ackTimeoutMs: 100, baseMs: 50, factor: 3, capMs: 400 };
    expect(redeliveryBoundsMs(policy, 1)).toEqual({ min: 100, max: 150 });
    expect(redeliveryBoundsMs(policy, 2)).toEqual({ min: 100, max: 250 });
    expect(redeliveryBoundsMs(policy, 3)).toEqual({ min: 100, max: 500 }); // 450 capped at 400
    expect(redeliveryDelayMs(policy, 2, () => 0)).toBe(100);
    expect(redeliveryDelayMs(policy, 2, () => 0.5)).toBe(175);
  });

  it("takes a channel's values over the server's, field by field", () => {
    expect(resolveDeliveryPolicy(DEFAULT_DELIVERY_POLICY, undefined)).toBe(DEFAULT_DELIVERY_POLICY);
    expect(resolveDeliveryPolicy(DEFAULT_DELIVERY_POLICY, { maxDeliveries: 9, capMs: undefined })).toEqual({ ...DEFAULT_DELIVERY_POLICY, maxDeliveries: 9 });
    // A channel base above the server's cap lifts the cap rather than making the backoff throw.
    expect(resolveDeliveryPolicy({ ...DEFAULT_DELIVERY_POLICY, capMs: 1_000 }, { baseMs: 5_000 })).toMatchObject({ baseMs: 5_000, capMs: 5_000 });
  });
});
