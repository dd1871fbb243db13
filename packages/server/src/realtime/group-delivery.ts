import type { ReadOutcome } from '../engine/durable-consumers.js';
import { AcknowledgedDelivery, type AcknowledgedDeliveryContext, type GroupAddress } from './acknowledged-delivery.js';
import type { RoutedPublication, StreamBreak } from './channel-subscription.js';
import type { Connection } from './connection.js';
import type { DeliveryPolicy } from './delivery-policy.js';
import type { QueueGroupMember, QueueGroups } from './queue-groups.js';

/** The durable group behind a queue group on a channel (ADR 0035 step 1): the client's name, validated by the segment rule. */
export function queueGroupName(group: string): string {
  return `q:${group}`;
}

/**
 * One member of a queue group (ADR 0042): acknowledged delivery on a group that other
 * sessions — on this node or any other — share. The store hands each new entry to one member
 * (`XREADGROUP >` on Redis), so the read path, the window, acks, self-redelivery with backoff
 * and the dead-letter rule are AcknowledgedDelivery's, unchanged. What a member adds:
 *
 * - it is registered with the node's `QueueGroups` while it exists (from subscribe to close),
 *   which counts it against the per-tenant caps and runs the group's idle-claim pass: entries a
 *   dead member held come to a live one after the group idle time (`adopt`);
 * - a publication wakes one member of the node's members of the group, in turn (not all of
 *   them: the first reader would take every new entry), and a member whose window fills hands
 *   the reading on to another with room;
 * - closing a member never removes the group (other members use it) and never acks what it
 *   held. When its connection closed, its unacked entries stay pending under its name until
 *   the idle time passes and a live member claims them, or until the session resumes and reads
 *   them again. When the session itself ended the membership (`leave`: unsubscribe, revocation,
 *   a broken stream), nobody will read them under its name again, so it releases them to the
 *   group at once and leaves the group's member list (`QueueGroups.leave`, ADR 0048).
 *
 * Invariant (what makes "acked by one member" hold): a live member's unacked entry is
 * redelivered to itself at most `ackTimeoutMs + capMs` after its last delivery, and the group
 * idle time is never below that plus a margin (`effectiveGroupIdleMs`), so the claim pass only
 * ever takes entries whose holder stopped.
 */
export class GroupDelivery extends AcknowledgedDelivery implements QueueGroupMember {
  readonly address: GroupAddress;
  readonly organizationId: string;
  readonly #groups: QueueGroups;
  #registered = false;
  /** The session ended this membership: what it holds at or after close goes back to the group. */
  #leaving = false;

  constructor(
    connection: Connection,
    onBreak: (reason: StreamBreak) => void,
    address: GroupAddress,
    policy: DeliveryPolicy,
    ctx: AcknowledgedDeliveryContext,
    groups: QueueGroups,
  ) {
    // No filters: an event a filter excluded would be acked for the whole group (see SubscriptionManager).
    super(connection, undefined, onBreak, address, policy, ctx);
    this.address = address;
    this.organizationId = connection.principal!.organizationId;
    this.#groups = groups;
    groups.add(this, policy);
    this.#registered = true;
  }

  override adopt(outcome: ReadOutcome): void {
    super.adopt(outcome);
  }

  /** Every member on the node hears each publication; the group wakes one of them, in turn. */
  protected override onPublication(publication: RoutedPublication): void {
    this.#groups.offer(this, publication.offset, publication.epoch);
  }

  /** The group shares entries among its members: holes in one member's offsets are the point. */
  protected override get takesEveryEntry(): boolean {
    return false;
  }

  protected override onWindowFull(): void {
    this.#groups.handOff(this);
  }

  /**
   * The session ends its membership (not a connection closing: then the session may resume and
   * read its pending entries again). Call before `close`: close then releases what the member
   * holds, and so does every read or claim that lands after it.
   */
  leave(): void {
    this.#leaving = true;
  }

  protected override onClosedHolding(ids: readonly string[]): void {
    if (this.#leaving) this.#groups.leave(this, ids);
    else super.onClosedHolding(ids);
  }

  override close(): void {
    const holding = this.inFlight;
    super.close();
    if (!this.#registered) return;
    this.#registered = false;
    this.#groups.remove(this);
    // Holding nothing, close did not call onClosedHolding: the member still leaves the group's list.
    if (this.#leaving && holding === 0) this.#groups.leave(this, []);
  }
}
