import type { ChannelName, PublishResult } from '@apix/protocol';
import type { ChannelAction } from '../channels/channel-authorizer.js';
import type { ChannelSettings } from '../channels/channel-settings.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logging/logger.js';
import type { Connection } from '../realtime/connection.js';
import type { AuthenticationFailure, MessageFailure, OriginRefusal, RealtimeObserver, SubscriptionEndReason } from '../realtime/realtime-observer.js';
import { AuditActorType, AuditOutcome, type AuditPublishMode } from '../storage/schema.js';
import { AuditAction } from './audit-actions.js';
import { AuditUnavailableError, type AuditEntry, type AuditLogger } from './audit-logger.js';

export function actorOf(principal: Principal): Pick<AuditEntry, 'organizationId' | 'actorType' | 'actorId'> {
  return {
    organizationId: principal.organizationId,
    actorType: principal.kind === 'api_key' ? AuditActorType.API_KEY : AuditActorType.USER,
    actorId: principal.kind === 'api_key' ? principal.credentialId ?? principal.userId : principal.userId,
  };
}

/**
 * Turns what the data plane reports into audit rows: connections opened and closed,
 * authentication failures, subscribes and unsubscribes, permission denials, and publishes
 * (per channel: all, sampled, or none). Only enqueues; the AuditLogger writes in batches.
 */
export class AuditRecorder implements RealtimeObserver {
  readonly #audit: AuditLogger;
  readonly #logger: Logger;
  readonly #publishDefault: { mode: AuditPublishMode; sampleRate: number };

  /** `publishDefault`: the publish audit mode of channels without their own setting. */
  constructor(audit: AuditLogger, logger: Logger, publishDefault: { mode: AuditPublishMode; sampleRate: number }) {
    this.#audit = audit;
    this.#logger = logger;
    this.#publishDefault = publishDefault;
  }

  connectionOpened(connection: Connection): void {
    this.#record({
      ...actorOf(connection.principal!),
      action: AuditAction.CONNECTION_OPENED,
      target: connection.sessionId,
      outcome: AuditOutcome.SUCCESS,
      details: { connectionId: connection.id, clientType: connection.clientType ?? null, remoteAddress: connection.remoteAddress ?? null },
    });
  }

  connectionClosed(connection: Connection, code: number): void {
    this.#record({ ...actorOf(connection.principal!), action: AuditAction.CONNECTION_CLOSED, target: connection.sessionId, outcome: AuditOutcome.SUCCESS, details: { code } });
  }

  authenticationFailed(failure: AuthenticationFailure): void {
    this.#record({
      organizationId: null,
      actorType: AuditActorType.ANONYMOUS,
      action: AuditAction.AUTH_FAILURE,
      outcome: AuditOutcome.FAILURE,
      details: { via: failure.via, code: failure.code, remoteAddress: failure.remoteAddress ?? null },
    });
  }

  originRefused(refusal: OriginRefusal): void {
    this.#record({
      organizationId: null,
      actorType: AuditActorType.ANONYMOUS,
      action: AuditAction.CONNECTION_ORIGIN_REFUSED,
      outcome: AuditOutcome.DENIED,
      details: { origin: refusal.origin, remoteAddress: refusal.remoteAddress ?? null },
    });
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    for (const channel of channels) {
      this.#record({ ...actorOf(connection.principal!), action: AuditAction.SUBSCRIPTION_ADDED, channel, target: connection.sessionId, outcome: AuditOutcome.SUCCESS });
    }
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[], reason: SubscriptionEndReason): void {
    if (reason === 'closed') return; // the connection.closed row says it
    for (const channel of channels) {
      this.#record({ ...actorOf(connection.principal!), action: AuditAction.SUBSCRIPTION_REMOVED, channel, target: connection.sessionId, outcome: AuditOutcome.SUCCESS, details: { reason } });
    }
  }

  accessDenied(principal: Principal, channel: ChannelName, action: ChannelAction): void {
    this.#record({
      ...actorOf(principal),
      action: action === 'publish' ? AuditAction.PUBLISH_DENIED : AuditAction.SUBSCRIPTION_DENIED,
      channel,
      outcome: AuditOutcome.DENIED,
      details: { action },
    });
  }

  published(principal: Principal, result: PublishResult, eventType: string, settings: ChannelSettings | undefined): void {
    const mode = settings?.auditPublishMode ?? this.#publishDefault.mode;
    const sampleRate = settings?.auditSampleRate ?? this.#publishDefault.sampleRate;
    if (mode === 'none' || (mode === 'sampled' && Math.random() >= sampleRate)) return;
    this.#record({
      ...actorOf(principal),
      action: AuditAction.PUBLISH,
      channel: result.channel,
      outcome: AuditOutcome.SUCCESS,
      details: { offset: result.offset, epoch: result.epoch, eventType, ...(mode === 'sampled' ? { sampled: true } : {}) },
    });
  }

  /** An acknowledged event was dead-lettered: the subscriber's session is the target, the offset in details. */
  messageFailed(connection: Connection, channel: ChannelName, failure: MessageFailure): void {
    this.#record({
      ...actorOf(connection.principal!),
      action: AuditAction.MESSAGE_FAILED,
      channel,
      target: connection.sessionId,
      outcome: AuditOutcome.FAILURE,
      details: { offset: failure.offset, epoch: failure.epoch, deliveryCount: failure.deliveryCount, reason: failure.reason },
    });
  }

  #record(entry: AuditEntry): void {
    try {
      this.#audit.record(entry);
    } catch (error) {
      // Only security rows throw, and every one of them reports an action that was refused
      // already (denial, failed authentication): nothing was let through unrecorded.
      if (!(error instanceof AuditUnavailableError)) throw error;
      this.#logger.error({ action: entry.action, organizationId: entry.organizationId }, 'audit spool full: security row not recorded; action was refused');
    }
  }
}
