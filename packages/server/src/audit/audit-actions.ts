/**
 * The audit actions APIX writes, in one place so the dashboard, the summary and
 * `isSecurityRelevant` agree on their spelling. The column is free text: a new action
 * needs no migration. Families: `auth.*` (credentials), `connection.*`, `subscription.*`,
 * `publish`, `message.*` (delivery), `admin.*` (control-plane changes, always
 * security-relevant).
 */
export const AuditAction = {
  AUTH_REGISTER: 'auth.register',
  AUTH_LOGIN: 'auth.login',
  AUTH_FAILURE: 'auth.failure',
  AUTH_REFRESH: 'auth.refresh',
  AUTH_REFRESH_REUSE: 'auth.refresh_reuse',
  AUTH_LOGOUT: 'auth.logout',
  CONNECTION_OPENED: 'connection.opened',
  CONNECTION_CLOSED: 'connection.closed',
  CONNECTION_RESUMED: 'connection.resumed',
  /** A WebSocket upgrade refused because of its Origin (details.origin). */
  CONNECTION_ORIGIN_REFUSED: 'connection.origin_refused',
  SUBSCRIPTION_ADDED: 'subscription.added',
  SUBSCRIPTION_REMOVED: 'subscription.removed',
  SUBSCRIPTION_DENIED: 'subscription.denied',
  PUBLISH: 'publish',
  PUBLISH_DENIED: 'publish.denied',
  /** An acknowledged event ran out of deliveries and was dead-lettered (details: offset, deliveryCount). */
  MESSAGE_FAILED: 'message.failed',
  /** A page of a channel's dead letters was read over HTTP. */
  DEAD_LETTERS_READ: 'message.dead_letters_read',
  /** A dead letter was handed back to its group (target: the letter id). */
  DEAD_LETTER_REDELIVERED: 'message.redelivered',
  RATE_LIMITED: 'rate_limited',
  /** An organisation's ordinary rows past its budget, counted (details: rows, byAction); see AUDIT_ORGANIZATION_ROWS_PER_SECOND. */
  AUDIT_SUMMARISED: 'audit.summarised',
  ADMIN_ORGANIZATION_CREATED: 'admin.organization.created',
  ADMIN_ORGANIZATION_UPDATED: 'admin.organization.updated',
  /** A principal tried an admin operation it may not perform (details.operation says which). */
  ADMIN_ACCESS_DENIED: 'admin.access.denied',
  ADMIN_AUDIT_EXPORTED: 'admin.audit.exported',
  ADMIN_MEMBER_ADDED: 'admin.member.added',
  ADMIN_MEMBER_UPDATED: 'admin.member.updated',
  ADMIN_MEMBER_REMOVED: 'admin.member.removed',
  ADMIN_API_KEY_CREATED: 'admin.api_key.created',
  ADMIN_API_KEY_REVOKED: 'admin.api_key.revoked',
  ADMIN_CHANNEL_CREATED: 'admin.channel.created',
  ADMIN_CHANNEL_UPDATED: 'admin.channel.updated',
  ADMIN_CHANNEL_DELETED: 'admin.channel.deleted',
  ADMIN_HISTORY_REMOVED: 'admin.history.removed',
  /** A platform admin set an organisation's quota overrides (details: the overrides). */
  ADMIN_QUOTAS_UPDATED: 'admin.quotas.updated',
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];
