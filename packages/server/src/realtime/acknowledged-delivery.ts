import { matchesFilters, type SubscriptionFilters } from '@apix/protocol';
import { DurableGroupMissingError, type DurableConsumers, type DurableEntry, type GoneEntry, type ReadOutcome } from '../engine/durable-consumers.js';
import type { Logger } from '../logging/logger.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import type { RoutedPublication, StreamBreak } from './channel-subscription.js';
import type { Connection } from './connection.js';
import type { Delivery, DeliveryState } from './delivery.js';
import { redeliveryDelayMs, type DeliveryPolicy } from './delivery-policy.js';
import type { RealtimeObserver } from './realtime-observer.js';
import type { RetryManager, RetryTarget } from './retry-manager.js';

/** What every acknowledged subscription of a node shares. */
export interface AcknowledgedDeliveryContext {
  readonly durable: DurableConsumers;
  readonly retries: RetryManager;
  readonly logger: Logger;
  readonly observer: RealtimeObserver;
  /** Injectable jitter for tests; Math.random otherwise. */
  readonly random?: () => number;
}

/** Where a subscription's group lives: its channel key, group and member names (ADR 0035 step 1). */
export interface GroupAddress {
  readonly key: string;
  readonly channel: string;
  readonly group: string;
  readonly member: string;
}

interface InFlight {
  readonly id: string;
  readonly offset: number;
  deliveryCount: number;
  /** Monotonic ms when it is redelivered (or dead-lettered) unless acked first. */
  dueAt: number;
  /** A retry or dead-letter call for it is running. */
  busy: boolean;
}

/** How long to wait before reading again after the store failed (Redis down). */
const STORE_RETRY_MS = 1_000;

/**
 * Acknowledged delivery (ADR 0035, 0038): the channel's publications are only wake-ups; the
 * events come from this subscription's own durable consumer group (`a:<session>`), so each is
 * delivered until the client acks it or it runs out of deliveries.
 *
 * Invariants:
 * - at most `policy.window` events are unacked (in flight) at once: no read while it is full;
 * - wake-ups are coalesced: at most one read in flight and one more queued, whatever the burst;
 * - every in-flight event has a due time; the RetryManager holds one timer for the earliest;
 * - an event leaves the window only by an ack, a dead letter (then `message.failed` and an
 *   audit row), or as `gone` (trimmed from the log while unacked: counted and logged);
 * - a lost group (the log was lost: new epoch) breaks the subscription like a broadcast gap,
 *   so the client resubscribes and is told `recovered: false` — never a silent restart.
 */
export class AcknowledgedDelivery implements Delivery, RetryTarget {
  readonly #connection: Connection;
  readonly #filters: SubscriptionFilters | undefined;
  readonly #onBreak: (reason: StreamBreak) => void;
  readonly #address: GroupAddress;
  readonly #policy: DeliveryPolicy;
  readonly #ctx: AcknowledgedDeliveryContext;
  /** Keyed by log offset; an ack names offsets. */
  readonly #inFlight = new Map<number, InFlight>();
  #state: DeliveryState = 'recovering';
  #epoch = '';
  /** Highest offset handed to the client (or the start position). */
  #lastOffset = 0;
  #reading = false;
  #readAgain = false;
  /** The next read starts with what is pending for the member (the first read, and after `adoptPending`). */
  #readPending = true;
  /** The last read stopped because the window was full: an ack (or dead letter) must read again. */
  #blocked = false;
  #dueRunning = false;
  /** The read retried after a store failure (cleared on close, so nothing outlives the subscription). */
  #retryReadTimer: NodeJS.Timeout | undefined;
  /**
   * Called when this subscription closes leaving entries pending under the member in no window:
   * once for what it held in flight at close, and again for each read or retry that was running
   * then and lands with entries (`releaseOnClose`, ADR 0046) — the adopter may have read the
   * pending list before such a read added to it.
   */
  #onOrphaned: (() => void) | undefined;
  /** Events found trimmed while unacked (reported in the log and here). */
  gone = 0;

  constructor(
    connection: Connection,
    filters: SubscriptionFilters | undefined,
    onBreak: (reason: StreamBreak) => void,
    address: GroupAddress,
    policy: DeliveryPolicy,
    ctx: AcknowledgedDeliveryContext,
  ) {
    this.#connection = connection;
    this.#filters = filters;
    this.#onBreak = onBreak;
    this.#address = address;
    this.#policy = policy;
    this.#ctx = ctx;
  }

  get state(): DeliveryState {
    return this.#state;
  }

  /** Everything up to this offset is acked (or was never due): the safe position to resume from. */
  get position(): { offset: number; epoch: string } {
    let lowest = this.#lastOffset + 1;
    for (const offset of this.#inFlight.keys()) if (offset < lowest) lowest = offset;
    return { offset: lowest - 1, epoch: this.#epoch };
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** How many more events the window takes now (0 unless live). */
  get room(): number {
    return this.#state === 'live' ? Math.max(0, this.#policy.window - this.#inFlight.size) : 0;
  }

  /**
   * Entries the store handed to this member outside its own reads (a queue group's idle-claim
   * pass, ADR 0042): into the window and out to the client, exactly as read ones. Closed
   * meanwhile: they stay pending under this member (`onClosedHolding`) and the next pass claims
   * them again, or the member gives them back at once if it left its group.
   */
  adopt(outcome: ReadOutcome): void {
    if (this.#state === 'closed' && outcome.entries.length > 0) this.onClosedHolding(outcome.entries.map((e) => e.id));
    if (this.#state !== 'live') return;
    this.#reportGone(outcome.gone);
    const now = monotonicNow();
    const send: DurableEntry[] = [];
    for (const entry of outcome.entries) {
      if (entry.deliveryCount <= this.#policy.maxDeliveries) {
        send.push(entry);
        continue;
      }
      // Its deliveries ran out with the member that held it (it died before dead-lettering it):
      // the claim counted one more, but it is dead-lettered now, never sent beyond the maximum.
      this.#inFlight.set(entry.offset, { id: entry.id, offset: entry.offset, deliveryCount: this.#policy.maxDeliveries, dueAt: now, busy: false });
      this.#lastOffset = Math.max(this.#lastOffset, entry.offset);
      this.#ctx.retries.arm(this, now);
    }
    this.#handOut(send);
  }

  offer(publication: RoutedPublication): void {
    if (this.#state !== 'live') return; // the group's cursor holds it; goLive reads
    if (publication.epoch !== this.#epoch) return this.#break('epoch-changed');
    this.onPublication(publication);
  }

  /** A live publication of the current epoch: read (a queue-group member lets its group pick who reads). */
  protected onPublication(_publication: RoutedPublication): void {
    this.wake();
  }

  /** The window filled while entries may still wait unread (a queue-group member hands the reading on). */
  protected onWindowFull(): void {}

  /**
   * This subscription is its group's only reader (the session's group of one), so the log's
   * entries reach it without holes; a hole means another reader took them. False for a
   * queue-group member, whose group shares the entries out.
   */
  protected get takesEveryEntry(): boolean {
    return true;
  }

  /** The group was joined at `position` (after the client's `since`, or now); reading starts here. */
  goLive(position: { offset: number; epoch: string }, _replay: readonly RoutedPublication[]): void {
    if (this.#state !== 'recovering') return;
    this.#epoch = position.epoch;
    this.#lastOffset = position.offset;
    this.#state = 'live';
    this.wake();
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#ctx.retries.disarm(this);
    clearTimeout(this.#retryReadTimer);
    // Held in flight: pending under the member now, in nobody's window. A read still running is
    // reported when it lands (#readLoop): announcing now would let the adopter read the pending
    // list before that read added to it.
    if (this.#inFlight.size > 0) this.onClosedHolding([...this.#inFlight.values()].map((e) => e.id));
    this.#inFlight.clear();
  }

  /**
   * Closed while entries were pending under the member in no window: the ones in flight at
   * close, then (called again) any a read that was running hands out when it lands. The
   * session's group announces them once (`releaseOnClose`); a queue-group member that leaves
   * gives them back to its group (GroupDelivery).
   */
  protected onClosedHolding(_ids: readonly string[]): void {
    this.#orphaned();
  }

  /**
   * The connection is closing and the session lives on (it may resume, or has resumed on another
   * connection): whenever this subscription leaves entries pending under the session's member in
   * no window, call `orphaned` — so the subscription that resumed the session reads them. Set
   * before `close`.
   */
  releaseOnClose(orphaned: () => void): void {
    this.#onOrphaned = orphaned;
  }

  #orphaned(): void {
    this.#onOrphaned?.();
  }

  /**
   * Another connection of this session closed holding unacked events of the group (a stale
   * connection that read after this one resumed the session): they are pending under the
   * member but in nobody's window. Read the pending list again so they come here (ADR 0046).
   */
  adoptPending(): void {
    if (this.#state !== 'live') return;
    this.#readPending = true;
    this.wake();
  }

  /** Reads what the group has for this member, unless a read runs already (then once more after it). */
  wake(): void {
    if (this.#state !== 'live') return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    void this.#readLoop().finally(() => {
      this.#reading = false;
    });
  }

  /**
   * Settles the given offsets (or every in-flight offset <= upTo). Offsets not in flight are
   * ignored: a repeated ack is harmless. Resolves with how many were settled.
   */
  async ack(selection: { upTo: number } | { offsets: readonly number[] }): Promise<number> {
    const settled: InFlight[] = [];
    if ('upTo' in selection) {
      for (const entry of this.#inFlight.values()) if (entry.offset <= selection.upTo) settled.push(entry);
    } else {
      for (const offset of selection.offsets) {
        const entry = this.#inFlight.get(offset);
        if (entry) settled.push(entry);
      }
    }
    if (settled.length === 0) return 0;
    // Out of the window first: a retry or read racing this ack must not resend them.
    for (const entry of settled) this.#inFlight.delete(entry.offset);
    // The safe resume position moved: the session keeper writes it at its next tick.
    this.#connection.markPositionsMoved();
    // Only a full window held reads back; otherwise the next publication's wake-up reads (no read per ack).
    if (this.#blocked) {
      this.#blocked = false;
      this.wake();
    }
    try {
      await this.#ctx.durable.ack(this.#address.key, this.#address.group, settled.map((e) => e.id));
    } catch (error) {
      // Still pending in the store: after a reconnect `read(pending)` hands them out again and the
      // client acks again. The client's ack is not refused for the store's failure.
      this.#ctx.logger.warn({ err: error, channelKey: this.#address.key }, 'ack not stored; the events stay pending in the group');
    }
    return settled.length;
  }

  /** RetryManager: the earliest due time came. */
  onDue(): void {
    if (this.#state !== 'live' || this.#dueRunning) return;
    this.#dueRunning = true;
    void this.#processDue().finally(() => {
      this.#dueRunning = false;
      this.#rearm();
    });
  }

  async #readLoop(): Promise<void> {
    try {
      do {
        this.#readAgain = false;
        while (this.#state === 'live') {
          const room = this.#policy.window - this.#inFlight.size;
          if (room <= 0) {
            this.#blocked = true;
            this.onWindowFull();
            break;
          }
          const from = this.#readPending ? 'both' : 'new';
          const outcome = await this.#ctx.durable.read(this.#address.key, this.#address.group, this.#address.member, { count: room, from });
          // A full page may have left pending entries unread: the next read looks at them again.
          if (outcome.entries.length + outcome.gone.length < room) this.#readPending = false;
          if (this.#state !== 'live') {
            // Closed while the read ran: what it took is pending under the member, in no window.
            if (outcome.entries.length > 0) this.onClosedHolding(outcome.entries.map((e) => e.id));
            return;
          }
          this.#reportGone(outcome.gone);
          if (this.takesEveryEntry && skipsOffsets(outcome.entries, this.#lastOffset)) {
            // Entries after our last one went to another reader of this member (a stale connection
            // of the session, perhaps on a node that died without a word): they wait pending under
            // the member, so read the pending list once more (ADR 0046).
            this.#readPending = true;
            this.#readAgain = true;
          }
          this.#handOut(outcome.entries);
          if (outcome.entries.length + outcome.gone.length < room) break;
        }
      } while (this.#readAgain && this.#state === 'live');
    } catch (error) {
      this.#storeFailed(error, 'read');
      // Try again later: nothing is lost (the group's cursor did not move for what was not handed out).
      this.#readAgain = false;
      if (this.#state === 'live') {
        clearTimeout(this.#retryReadTimer);
        this.#retryReadTimer = setTimeout(() => this.wake(), STORE_RETRY_MS);
        this.#retryReadTimer.unref();
      }
    }
  }

  #handOut(entries: readonly DurableEntry[]): void {
    const skipped: string[] = [];
    const now = monotonicNow();
    for (const entry of entries) {
      const held = this.#inFlight.get(entry.offset);
      if (held !== undefined && held.id === entry.id) {
        // Already in this window (a pending re-read): its own timer redelivers it.
        held.deliveryCount = Math.max(held.deliveryCount, entry.deliveryCount);
        continue;
      }
      if (this.#filters && !matchesFilters(this.#filters, parseEvent(entry.data))) {
        // Filtered out: the client never sees it, so it is settled for this subscription now.
        skipped.push(entry.id);
        this.#lastOffset = Math.max(this.#lastOffset, entry.offset);
        continue;
      }
      const dueAt = now + redeliveryDelayMs(this.#policy, entry.deliveryCount, this.#ctx.random);
      this.#inFlight.set(entry.offset, { id: entry.id, offset: entry.offset, deliveryCount: entry.deliveryCount, dueAt, busy: false });
      this.#lastOffset = Math.max(this.#lastOffset, entry.offset);
      this.#send(entry.offset, entry.deliveryCount, entry.data);
      this.#ctx.retries.arm(this, dueAt);
    }
    if (skipped.length > 0) {
      this.#ctx.durable.ack(this.#address.key, this.#address.group, skipped).catch((error: unknown) => this.#storeFailed(error, 'ack of filtered events'));
    }
  }

  async #processDue(): Promise<void> {
    const now = monotonicNow();
    const retry: InFlight[] = [];
    const dead: InFlight[] = [];
    for (const entry of this.#inFlight.values()) {
      if (entry.busy || entry.dueAt > now) continue;
      entry.busy = true;
      (entry.deliveryCount >= this.#policy.maxDeliveries ? dead : retry).push(entry);
    }
    try {
      if (retry.length > 0) {
        const outcome = await this.#ctx.durable.retry(this.#address.key, this.#address.group, this.#address.member, retry.map((e) => e.id));
        if (this.#state !== 'live') {
          // Closed while the retry ran: it took them back under the member after close handed
          // them over, so hand them over again (a leaving group member releases them once more).
          if (outcome.entries.length > 0) this.onClosedHolding(outcome.entries.map((e) => e.id));
          return;
        }
        this.#reportGone(outcome.gone);
        const sentAt = monotonicNow();
        for (const delivered of outcome.entries) {
          const entry = this.#inFlight.get(delivered.offset);
          if (!entry || entry.id !== delivered.id) continue; // acked while the retry ran
          entry.deliveryCount = delivered.deliveryCount;
          entry.dueAt = sentAt + redeliveryDelayMs(this.#policy, entry.deliveryCount, this.#ctx.random);
          entry.busy = false;
          this.#send(entry.offset, entry.deliveryCount, delivered.data);
        }
        // Asked for but not handed back: acked meanwhile (gone from the window already) or no longer pending.
        for (const entry of retry) {
          if (entry.busy && this.#inFlight.get(entry.offset) === entry) this.#inFlight.delete(entry.offset);
        }
      }
      for (const entry of dead) await this.#deadLetter(entry);
    } catch (error) {
      if (this.#state !== 'live') return;
      this.#storeFailed(error, 'redelivery');
      const later = monotonicNow() + STORE_RETRY_MS;
      for (const entry of [...retry, ...dead]) {
        entry.busy = false;
        entry.dueAt = Math.max(entry.dueAt, later);
      }
      return;
    }
    if (dead.length > 0) {
      this.#blocked = false;
      this.wake(); // the window has room again
    }
  }

  async #deadLetter(entry: InFlight): Promise<void> {
    if (this.#inFlight.get(entry.offset) !== entry) return; // acked meanwhile
    const outcome = await this.#ctx.durable.deadLetter(this.#address.key, this.#address.group, entry.id, 'max-deliveries');
    if (this.#inFlight.get(entry.offset) === entry) this.#inFlight.delete(entry.offset);
    if (outcome === 'gone') this.#reportGone([{ id: entry.id, offset: entry.offset }]);
    if (outcome !== 'dead-lettered' || this.#state !== 'live') return;
    this.#connection.sendFrame({
      type: 'message.failed',
      channel: this.#address.channel,
      offset: entry.offset,
      epoch: this.#epoch,
      deliveryCount: entry.deliveryCount,
      reason: 'max-deliveries',
    });
    this.#ctx.observer.messageFailed?.(this.#connection, this.#address.channel, { offset: entry.offset, epoch: this.#epoch, deliveryCount: entry.deliveryCount, reason: 'max-deliveries' });
  }

  #rearm(): void {
    if (this.#state !== 'live') return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.#inFlight.values()) if (!entry.busy && entry.dueAt < earliest) earliest = entry.dueAt;
    if (earliest !== Number.POSITIVE_INFINITY) this.#ctx.retries.arm(this, earliest);
  }

  /** The acknowledged event frame: like broadcast's, plus `acknowledgment` and a true `retryCount`. */
  #send(offset: number, deliveryCount: number, data: string): void {
    this.#connection.sendRaw(
      `{"type":"event","channel":${JSON.stringify(this.#address.channel)},"offset":${offset},"epoch":"${this.#epoch}","acknowledgment":true,"retryCount":${deliveryCount - 1},"event":${data}}`,
    );
  }

  #reportGone(gone: readonly GoneEntry[]): void {
    if (gone.length === 0) return;
    this.gone += gone.length;
    for (const entry of gone) if (entry.offset !== undefined) this.#inFlight.delete(entry.offset);
    this.#ctx.logger.warn(
      { channelKey: this.#address.key, group: this.#address.group, gone: gone.length, offsets: gone.map((g) => g.offset) },
      'unacked events were trimmed from the log before they were acked (retention shorter than redelivery)',
    );
  }

  #storeFailed(error: unknown, what: string): void {
    if (error instanceof DurableGroupMissingError) return this.#break('epoch-changed');
    this.#ctx.logger.warn({ err: error, channelKey: this.#address.key, group: this.#address.group }, `acknowledged delivery: ${what} failed; retrying`);
  }

  #break(reason: StreamBreak): void {
    if (this.#state === 'closed') return;
    this.close();
    this.#onBreak(reason);
  }
}

/**
 * True when `entries` (one read) hold an offset above `lastOffset` while some offset between
 * them is missing: the log's offsets are consecutive, and only entries above the reader's last
 * one count (pending and redriven entries re-read older offsets).
 */
export function skipsOffsets(entries: readonly DurableEntry[], lastOffset: number): boolean {
  // No allocation: this runs on every read. One read never holds an offset twice (an entry is
  // pending or new, not both); a redriven letter above `lastOffset` could only hide a hole.
  let highest = lastOffset;
  let above = 0;
  for (const entry of entries) {
    if (entry.offset <= lastOffset) continue;
    above += 1;
    if (entry.offset > highest) highest = entry.offset;
  }
  return highest - lastOffset > above;
}

function parseEvent(data: string): { type: string; payload?: unknown; metadata?: unknown } {
  return JSON.parse(data) as { type: string };
}
