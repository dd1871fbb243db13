import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CloseCodes, PROTOCOL_VERSION } from '@apix/protocol';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { AuditLogger } from './audit/audit-logger.js';
import { AuditRecorder } from './audit/audit-recorder.js';
import { ChannelAccess } from './channels/channel-access.js';
import type { ChannelAuthorizer } from './channels/channel-authorizer.js';
import { StoredChannelSettings } from './channels/channel-settings.js';
import { EventArchiver } from './channels/event-archiver.js';
import { EventPublisher } from './channels/event-publisher.js';
import { HistoryReader } from './channels/history-reader.js';
import { StoredChannelPolicy } from './channels/stored-channel-policy.js';
import { SubscriberCounts } from './channels/subscriber-counts.js';
import { buildConfig, type ApiXConfig, type ApiXConfigInput } from './config/config.js';
import type { Broker } from './engine/broker.js';
import type { AccessChange, ControlBus, ControlMessage } from './engine/control-bus.js';
import { MemoryBroker } from './engine/memory-broker.js';
import { NodeRegistry } from './engine/node-registry.js';
import { DEFAULT_PRESENCE_TTL_MS } from './engine/presence.js';
import { PresenceQuery } from './engine/presence-query.js';
import { PresenceTracker } from './engine/presence-tracker.js';
import { RedisBroker } from './engine/redis-broker.js';
import { createConfiguredBroker, createControlBus, createDurableConsumers, createNodeRegistryStore, createPresenceManager, createSessionStore, redisTargetOf, streamIdleTtlMsOf } from './engine/redis-engine-config.js';
import { GroupHygiene } from './realtime/group-hygiene.js';
import { QueueGroups } from './realtime/queue-groups.js';
import { RetryManager } from './realtime/retry-manager.js';
import { DeadLetters } from './channels/dead-letters.js';
import { SessionTokens, sessionSecret } from './identity/session-token.js';
import { SessionKeeper } from './realtime/session-keeper.js';
import { NODE_TTL_MS } from './engine/node-registry.js';
import { ClusterChannelCount } from './limits/cluster-channels.js';
import { RedisHoldings } from './limits/cluster-holdings.js';
import { ApiExceptionFilter } from './http/api-error-response.js';
import { AppModule } from './http/app.module.js';
import { httpServerOptions, registerRequestLogging, registerSecurityPlugins, useDepthLimitedJsonParser } from './http/http-hardening.js';
import type { ControlPlaneContext } from './http/control-plane-context.js';
import {
  CONTROL_PLANE,
  CREDENTIAL_VERIFIER,
  HISTORY_READER,
  DEAD_LETTERS,
  PRESENCE_QUERY,
  PUBLISHER,
  QUOTAS,
  RATE_LIMITS,
  REALTIME_OBSERVER,
  SERVER_RUNTIME,
  SIGNING_KEY,
} from './http/injection-tokens.js';
import { buildOpenApiDocument } from './http/openapi-document.js';
import type { ServerRuntime } from './http/server-runtime.js';
import { StoredAccessDirectory } from './identity/access-directory.js';
import { StorageMaintenance } from './maintenance/storage-maintenance.js';
import { ApiKeyVerifier } from './identity/api-key-verifier.js';
import { CredentialRouter } from './identity/credential-router.js';
import { externalJwksVerifier } from './identity/external-jwks-verifier.js';
import { loadOrCreateSigningKey, type SigningKey } from './identity/signing-key-store.js';
import { TokenIssuer } from './identity/token-issuer.js';
import { LocalTokenVerifier } from './identity/local-token-verifier.js';
import { TokenVerifier } from './identity/token-verifier.js';
import { FloodDetector } from './limits/flood-detector.js';
import { defaultQuotasFrom, rateLimitSettingsFrom, rateLimiterStoreFor } from './limits/limits-from-config.js';
import { OrganizationHistoryBytes } from './limits/history-bytes.js';
import { QuotaUsage } from './limits/quota-usage.js';
import { StoredQuotas } from './limits/stored-quotas.js';
import { RateLimits } from './limits/rate-limits.js';
import { createLogger, type Logger } from './logging/logger.js';
import { NestPinoLogger } from './logging/nest-logger.js';
import { AccessRevalidator } from './realtime/access-revalidator.js';
import { ApiXGateway, WEBSOCKET_PATH } from './realtime/apix-gateway.js';
import { ConnectionManager } from './realtime/connection-manager.js';
import { ConnectionTracker } from './realtime/connection-tracker.js';
import { EventRouter } from './realtime/event-router.js';
import { OriginPolicy } from './realtime/origin-policy.js';
import { ObserverList } from './realtime/realtime-observer.js';
import { SubscriptionManager } from './realtime/subscription-manager.js';
import { openDatabase, type DatabaseHandle } from './storage/database.js';
import { createRepositories, type Repositories } from './storage/repositories.js';
import { APIX_VERSION } from './version.js';
import type { LatencyTracker } from './monitoring/latency-tracker.js';
import { createLatencyTracker, startMonitoring } from './monitoring/monitoring-setup.js';

/** How long start-up waits for the Redis rate-limit store before going on with memory counters. */
const RATE_LIMIT_STORE_READY_TIMEOUT_MS = 5_000;
/** Longest a connection or subscribe waits for the cluster's quota counts before counting on this node only. */
const QUOTA_LEDGER_TIMEOUT_MS = 500;

export interface StartOptions {
  /** Settings; anything left out takes its default (see config.ts). */
  readonly config?: ApiXConfig | Partial<ApiXConfigInput>;
  readonly logger?: Logger;
  readonly broker?: Broker;
  /** How access changes reach the other nodes; in-process by default (one node). */
  readonly controlBus?: ControlBus;
  /** Replaces the stored permission model (tests of the data plane). */
  readonly authorizer?: ChannelAuthorizer;
}

export interface ApiXServer {
  readonly config: ApiXConfig;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** `ws://host:port/ws` */
  readonly wsUrl: string;
  readonly issuer: TokenIssuer;
  readonly signingKey: SigningKey;
  readonly broker: Broker;
  readonly controlBus: ControlBus;
  readonly nodeId: string;
  readonly connections: ConnectionManager;
  /** What the data plane holds right now (tests check these return to zero: nothing outlives its connection). */
  realtimeStats(): { connections: number; channels: number; brokerSubscriptions: number | undefined };
  readonly database: DatabaseHandle;
  readonly repositories: Repositories;
  readonly controlPlane: ControlPlaneContext;
  readonly maintenance: StorageMaintenance;
  readonly logger: Logger;
  /** The cluster's live nodes (this one alone on the memory engine). */
  readonly nodes: NodeRegistry;
  /** The node's LatencyTracker (monitoring). */
  readonly latency: LatencyTracker;
  /** The port of `/metrics` when METRICS_PORT is set. */
  readonly metricsPort: number | undefined;
  /** The listening HTTP server (routes, and the WebSocket upgrade). */
  readonly httpServer: Server;
  /** Graceful shutdown: stop accepting, close sockets with 4000 (reconnect), flush records, stop the control plane, engine and storage. */
  close(): Promise<void>;
}

/**
 * The composition root: builds storage, identity, the engine, the data plane and the control
 * plane, wires them together and listens on one port (HTTP routes + WebSocket upgrade at /ws).
 */
export async function startApixServer(options: StartOptions = {}): Promise<ApiXServer> {
  const config = buildConfig(options.config as Partial<ApiXConfigInput>);
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const nodeId = `node_${randomBytes(4).toString('hex')}`;

  // --- storage and identity ---
  const database = await openDatabase({
    ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}),
    dataDir: config.APIX_DATA_DIR,
    timeoutMs: config.STORAGE_TIMEOUT_MS,
    onBackgroundError: (error: unknown) => logger.error({ err: error }, 'database connection error'),
    onEmbeddedEvent: (event) => (event.kind === 'restarted' ? logger.warn(event, 'embedded database restarted') : logger.error(event, 'embedded database process failed')),
  });
  const repositories = createRepositories(database.db);
  const audit = new AuditLogger(repositories.audit, {
    log: logger.child({ component: 'audit' }),
    organizationRowsPerSecond: config.AUDIT_ORGANIZATION_ROWS_PER_SECOND,
  });
  const signingKey = await loadOrCreateSigningKey(config.APIX_DATA_DIR);
  const tokenSettings = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
  const issuer = new TokenIssuer(signingKey, tokenSettings);
  const permissionCache = {
    maxEntries: config.PERMISSION_CACHE_MAX_ENTRIES,
    refreshAfterMs: config.PERMISSION_CACHE_TTL_MS,
    maxStaleMs: config.PERMISSION_STALE_MAX_MS,
    loadTimeoutMs: config.STORAGE_TIMEOUT_MS,
  };
  // Answers a background refresh found changed are re-checked like any change event (bound below).
  let onStaleAccess: (change: AccessChange) => void = () => undefined;
  const apiKeyVerifier = new ApiKeyVerifier(repositories.apiKeys, permissionCache);
  const verifier = new CredentialRouter({
    local: new LocalTokenVerifier(signingKey.publicJwk, { ...tokenSettings, clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS }),
    localIssuer: config.JWT_ISSUER,
    apiKeys: apiKeyVerifier,
    ...(config.JWKS_URL && config.JWKS_ISSUER
      ? {
          external: {
            issuer: config.JWKS_ISSUER,
            verifier: externalJwksVerifier({
              jwksUrl: config.JWKS_URL,
              issuer: config.JWKS_ISSUER,
              audience: config.JWKS_AUDIENCE ?? config.JWT_AUDIENCE,
              clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
              cooldownMs: config.JWKS_COOLDOWN_MS,
            }),
          },
        }
      : {}),
  });
  const directory = new StoredAccessDirectory(repositories, permissionCache, (change) => onStaleAccess(change));
  const channelSettings = new StoredChannelSettings(repositories.channels, permissionCache, (organizationId, channel) =>
    onStaleAccess({ kind: 'channel', organizationId, channel }),
  );

  // --- data plane ---
  const observers = new ObserverList();
  const quotas = await StoredQuotas.load(database.db, defaultQuotasFrom(config));
  // History bytes are accounted only in the memory engine (a given broker, or Redis, keeps its own bounds).
  const redisBroker = options.broker ? undefined : createConfiguredBroker(config, logger);
  const historyBytes = options.broker || redisBroker ? undefined : new OrganizationHistoryBytes(quotas);
  const broker = options.broker ?? redisBroker ?? new MemoryBroker({ ...(historyBytes ? { historyBytes } : {}) });
  // With Redis, what an organisation holds is counted cluster-wide (ADR 0033).
  const redisTarget = redisTargetOf(config);
  const quotaLog = logger.child({ component: 'quotas' });
  const onLedgerError = (error: unknown) => quotaLog.warn({ err: error }, 'cluster quota ledger did not answer: counting on this node only');
  const holdings = redisTarget
    ? await RedisHoldings.connect(
        { ...redisTarget, prefix: config.REDIS_KEY_PREFIX, nodeId, leaseMs: NODE_TTL_MS, commandTimeoutMs: QUOTA_LEDGER_TIMEOUT_MS },
        (error) => quotaLog.debug({ err: error }, 'quota ledger link error'),
      )
    : undefined;
  const quotaUsage = new QuotaUsage(quotas, holdings ? { ledger: holdings, leaseMs: NODE_TTL_MS, onLedgerError } : {});
  observers.add(quotaUsage);
  const clusterChannels =
    holdings && redisBroker
      ? new ClusterChannelCount(holdings, quotas, {
          channelLeaseMs: streamIdleTtlMsOf(config),
          recheckAfterMs: 60_000,
          maxRemembered: 100_000,
          onLedgerError,
        })
      : undefined;
  const access = new ChannelAccess(options.authorizer ?? new StoredChannelPolicy(directory, channelSettings), observers);
  // Monitoring (docs/monitoring.md). Switched off, the tracker is never called by the data plane.
  const latency = createLatencyTracker(config, nodeId);
  const probe = config.MONITORING_TRACKING ? latency : undefined;
  const router = new EventRouter(broker, logger, probe);
  await broker.start(router);
  const archiver = new EventArchiver(repositories.events, { batchSize: 500, flushIntervalMs: 250, maxBuffered: 100_000 }, logger);
  const rateLimiterStore = rateLimiterStoreFor(config);
  // Counting in memory while Redis connects would let the first requests pass uncounted
  // cluster-wide; a Redis that does not come up is not fatal (memory counters until it does).
  await rateLimiterStore.ready(RATE_LIMIT_STORE_READY_TIMEOUT_MS).catch((error: unknown) =>
    logger.warn({ err: error }, 'rate-limit store not ready: counting in memory on this node until Redis is reachable'),
  );
  const rateLimits = new RateLimits(rateLimiterStore, rateLimitSettingsFrom(config), quotas, historyBytes, clusterChannels);
  const publisher = new EventPublisher(
    access,
    broker,
    {
      historySize: config.HISTORY_SIZE,
      historyTtlMs: config.HISTORY_TTL_MS,
      idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
      inbox: { historySize: config.INBOX_HISTORY_SIZE, historyTtlMs: config.INBOX_HISTORY_TTL_MS },
    },
    channelSettings,
    observers,
    archiver,
    rateLimits,
  );
  const history = new HistoryReader(access, broker, channelSettings, repositories.events);
  const connections = new ConnectionManager(
    { pingIntervalMs: config.PING_INTERVAL_MS, pongTimeoutMs: config.PONG_TIMEOUT_MS, tokenExpiryGraceMs: config.TOKEN_EXPIRY_GRACE_MS },
    logger,
    probe,
  );
  probe?.watchSendBuffers(() => connections.backloggedPendingBytes());
  // Acknowledged delivery (ADR 0035, 0038): durable consumer groups on the channel logs, one RetryManager per node.
  const durableConsumers = await createDurableConsumers(config, broker);
  const retries = new RetryManager();
  const queueGroups = new QueueGroups(
    durableConsumers.durable,
    { maxGroupsPerOrganization: config.GROUP_MAX_PER_ORGANIZATION, maxMembersPerGroup: config.GROUP_MAX_MEMBERS },
    logger.child({ component: 'queue-groups' }),
  );
  // Before the subscriptions: the group hygiene (ADR 0048) asks it which sessions still live.
  const sessionStore = await createSessionStore(config);
  const groupHygiene = new GroupHygiene(
    durableConsumers.durable,
    sessionStore,
    { intervalMs: config.GROUP_HYGIENE_INTERVAL_MS, sessionTtlMs: config.SESSION_TTL_MS },
    logger.child({ component: 'group-hygiene' }),
  );
  // Bound once the control bus exists (below): a closed connection's unacked events are announced to every node.
  let announceReleased: (key: string, group: string) => void = () => undefined;
  const subscriptions = new SubscriptionManager(
    access,
    router,
    broker,
    // An inbox holds up to INBOX_HISTORY_SIZE for a user who was away: a resume may replay all of it.
    { maxSubscriptionsPerConnection: config.MAX_SUBSCRIPTIONS_PER_CONNECTION, maxRecoveredPublications: Math.max(config.HISTORY_SIZE, config.INBOX_HISTORY_SIZE, 1) },
    logger,
    observers,
    channelSettings,
    {
      durable: durableConsumers.durable,
      retries,
      logger: logger.child({ component: 'acknowledged-delivery' }),
      observer: observers,
      policy: {
        ackTimeoutMs: config.ACK_TIMEOUT_MS,
        baseMs: config.ACK_RETRY_BASE_MS,
        factor: config.ACK_RETRY_FACTOR,
        capMs: Math.max(config.ACK_RETRY_CAP_MS, config.ACK_RETRY_BASE_MS),
        maxDeliveries: config.ACK_MAX_DELIVERIES,
        window: config.ACK_WINDOW,
        ...(config.GROUP_IDLE_MS !== undefined ? { groupIdleMs: config.GROUP_IDLE_MS } : {}),
      },
      groups: queueGroups,
      hygiene: groupHygiene,
      released: (key, group) => announceReleased(key, group),
    },
  );
  const sessions = new SessionKeeper(
    sessionStore,
    new SessionTokens(await sessionSecret(config.SESSION_SECRET, signingKey.privateKey), config.SESSION_TTL_MS),
    { ttlMs: config.SESSION_TTL_MS, flushIntervalMs: config.SESSION_FLUSH_MS },
    logger.child({ component: 'sessions' }),
  );
  observers.add(sessions);
  const presence = await createPresenceManager(config, DEFAULT_PRESENCE_TTL_MS);
  const presenceLogger = logger.child({ component: 'presence' });
  const presenceTracker = new PresenceTracker(presence, DEFAULT_PRESENCE_TTL_MS, presenceLogger, (key, type, member) => {
    // Off the request path: the subscribe or close that caused it never waits for the append.
    const data = JSON.stringify({ type, payload: member, metadata: { timestamp: Date.now(), version: PROTOCOL_VERSION } });
    broker
      .publish(key, data, { historySize: config.HISTORY_SIZE, historyTtlMs: config.HISTORY_TTL_MS })
      .catch((error: unknown) => presenceLogger.warn({ err: error, channelKey: key, type }, 'presence announcement not published'));
  });
  const presenceQuery = new PresenceQuery(access, presence, channelSettings);
  const gateway = new ApiXGateway(
    {
      maxFrameBytes: config.MAX_FRAME_BYTES,
      maxSendBufferBytes: config.MAX_SEND_BUFFER_BYTES,
      connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
      clientHeartbeatIntervalMs: config.CLIENT_HEARTBEAT_INTERVAL_MS,
      rateLimit: { requestsPerSecond: config.RATE_LIMIT_REQUESTS_PER_SECOND, burst: config.RATE_LIMIT_BURST },
      maxConnections: config.MAX_CONNECTIONS,
      reconnectSpreadMs: config.RECONNECT_SPREAD_MS,
      compression: {
        enabled: config.WS_COMPRESSION,
        thresholdBytes: config.WS_COMPRESSION_THRESHOLD_BYTES,
        serverMaxWindowBits: config.WS_COMPRESSION_WINDOW_BITS,
        concurrencyLimit: config.WS_COMPRESSION_CONCURRENCY,
      },
    },
    {
      verifier,
      originPolicy: new OriginPolicy(config.ALLOWED_ORIGINS),
      connections,
      subscriptions,
      publisher,
      history,
      logger,
      observer: observers,
      presence: presenceQuery,
      floodDetector: new FloodDetector(config.RATE_LIMIT_DISCONNECT_AFTER),
      quotaUsage,
      sessions,
    },
  );
  const tracker = new ConnectionTracker(repositories.connections, connections, { nodeId, heartbeatFlushMs: config.HEARTBEAT_FLUSH_MS }, logger);
  const subscriberCounts = new SubscriberCounts(repositories.channels, 1_000, logger);
  observers.add(new AuditRecorder(audit, logger, { mode: config.AUDIT_PUBLISH_MODE, sampleRate: config.AUDIT_PUBLISH_SAMPLE_RATE }));
  observers.add(tracker);
  observers.add(presenceTracker);
  observers.add(subscriberCounts);
  if (probe) observers.add(probe);
  const revalidator = new AccessRevalidator(connections, directory, channelSettings, router, subscriptions, logger, presenceTracker);
  const reportRecheckFailure = (error: unknown) => logger.error({ err: error }, 're-checking connections after an access change failed');
  onStaleAccess = (change) => void revalidator.apply(change).catch(reportRecheckFailure);
  // Other nodes' admin changes arrive here. This node's own changes were applied before they
  // were sent (accessChanged below), so they are skipped; a resync is never skipped.
  const controlBus = options.controlBus ?? createControlBus(config, nodeId, logger);
  await controlBus.start((message: ControlMessage) => {
    if (message.type === 'resync') {
      apiKeyVerifier.invalidate();
      void revalidator.resync().catch(reportRecheckFailure);
      void quotas.reloadAll().catch((error: unknown) => logger.warn({ err: error }, 'quota overrides not re-read after a resync'));
      return;
    }
    // This node's own too: the session may have resumed on this node, on another connection.
    if (message.type === 'acknowledged-released') return subscriptions.adoptReleased(message.key, message.group);
    // This node's own claims were checked locally (SessionKeeper#register).
    if (message.type === 'session-claimed') return message.origin === nodeId ? undefined : sessions.claimed(message.sessionId, message.connectionId);
    if (message.origin === nodeId) return;
    if (message.type === 'quotas-changed') {
      const { organizationId } = message;
      void quotas.reload(organizationId).catch((error: unknown) => logger.warn({ err: error, organizationId }, 'quota overrides not re-read'));
      return;
    }
    if (message.change.kind === 'api-key' || message.change.kind === 'organization') apiKeyVerifier.invalidate();
    void revalidator.apply(message.change).catch(reportRecheckFailure);
  });
  sessions.onClaimed = (sessionId, connectionId) => {
    controlBus.publish({ type: 'session-claimed', sessionId, connectionId, origin: nodeId }).catch((error: unknown) => {
      // Not fatal: the stale connection is fenced at its next session write or by the heartbeat.
      logger.warn({ err: error, sessionId }, 'session claim not announced');
    });
  };
  announceReleased = (key, group) => {
    controlBus.publish({ type: 'acknowledged-released', key, group, origin: nodeId }).catch((error: unknown) => {
      // Not fatal: the events stay pending in the group, and the session's next resume reads them.
      logger.warn({ err: error, channelKey: key, group }, 'released acknowledged events not announced');
    });
  };
  const maintenance = new StorageMaintenance(
    repositories,
    {
      intervalMs: config.MAINTENANCE_INTERVAL_MS,
      // A live connection's heartbeat is stamped at least every ping interval + flush interval.
      staleHeartbeatMs: 3 * (config.PING_INTERVAL_MS + config.PONG_TIMEOUT_MS + config.HEARTBEAT_FLUSH_MS),
      connectionRowRetentionMs: config.CONNECTION_ROW_RETENTION_MS,
    },
    logger,
  );
  // Rows and counts a previous run left behind (crash, SIGKILL), in the background: start-up never waits on it.
  void maintenance.reconcileAtStartup({ exclusive: database.kind === 'pglite', nodeId });

  // --- control plane ---
  const controlPlane: ControlPlaneContext = {
    config,
    logger,
    database,
    repositories,
    issuer,
    verifier,
    audit,
    directory,
    channelSettings,
    broker,
    accessChanged: async (change) => {
      if (change.kind === 'api-key' || change.kind === 'organization') apiKeyVerifier.invalidate();
      await revalidator.apply(change);
      await controlBus.publish({ type: 'access-changed', change, origin: nodeId }).catch((error: unknown) => {
        // Other nodes pick the change up on their next background refresh of the entry.
        logger.error({ err: error, change }, 'access change could not be sent to the other nodes');
      });
    },
    quotasChanged: async (organizationId) => {
      await controlBus.publish({ type: 'quotas-changed', organizationId, origin: nodeId }).catch((error: unknown) => {
        logger.error({ err: error, organizationId }, 'quota change could not be sent to the other nodes');
      });
    },
  };
  let ready = false;
  const startedAt = Date.now();
  const nodes = new NodeRegistry(
    await createNodeRegistryStore(config),
    () => ({ nodeId, version: APIX_VERSION, engine: broker.name, storage: database.kind, startedAt, connections: connections.size }),
    (error) => logger.warn({ err: error }, 'node registry heartbeat failed'),
  );
  const runtime: ServerRuntime = {
    version: APIX_VERSION,
    nodeId,
    engine: broker.name,
    startedAt,
    storage: database.kind,
    engineHealthy: () => (broker instanceof RedisBroker ? broker.healthy() : true),
    liveNodes: () => nodes.list(),
    connectionCount: () => connections.size,
    channelCount: () => router.channelCount,
    channelKeys: () => router.channelKeys(),
    queueGroups: () => ({ groups: queueGroups.size, ...queueGroups.stats }),
    isReady: () => ready,
  };

  const monitoring = await startMonitoring(latency, {
    config, nodeId, broker, audit, runtime, database, directory, logger,
    queues: { audit, archive: archiver, connectionRows: tracker },
  });

  const httpLogger = logger.child({ component: 'http' });
  const adapter = new FastifyAdapter({ ...httpServerOptions(config), loggerInstance: httpLogger });
  useDepthLimitedJsonParser(adapter, config.MAX_FRAME_BYTES);
  registerRequestLogging(adapter.getInstance(), httpLogger);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register([
      { provide: PUBLISHER, useValue: publisher },
      { provide: HISTORY_READER, useValue: history },
      { provide: DEAD_LETTERS, useValue: new DeadLetters(access, durableConsumers.durable, audit, (key) => subscriptions.wakeAcknowledged(key)) },
      { provide: CREDENTIAL_VERIFIER, useValue: verifier },
      { provide: SERVER_RUNTIME, useValue: runtime },
      { provide: SIGNING_KEY, useValue: signingKey },
      { provide: CONTROL_PLANE, useValue: controlPlane },
      { provide: REALTIME_OBSERVER, useValue: observers },
      { provide: PRESENCE_QUERY, useValue: presenceQuery },
      { provide: RATE_LIMITS, useValue: rateLimits },
      { provide: QUOTAS, useValue: quotas },
      ...monitoring.providers,
    ]),
    adapter,
    { logger: new NestPinoLogger(logger) },
  );
  await registerSecurityPlugins(app, config);
  app.useGlobalFilters(new ApiExceptionFilter(logger));
  const openApi = buildOpenApiDocument(APIX_VERSION);
  SwaggerModule.setup('api/docs', app, openApi as unknown as OpenAPIObject, { jsonDocumentUrl: 'api/docs/openapi.json' });

  await monitoring.serveDashboard(app);

  await app.listen({ port: config.PORT, host: config.HOST });
  const httpServer = app.getHttpServer() as Server;
  httpServer.on('upgrade', (request, socket, head) => {
    gateway.handleUpgrade(request, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  });
  await nodes.start();
  ready = true;

  const port = (httpServer.address() as AddressInfo).port;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      gateway.stopAccepting();
      maintenance.stop();
      await monitoring.close();
      connections.closeAll(CloseCodes.SERVER_SHUTDOWN, 'server shutting down', config.RECONNECT_SPREAD_MS);
      connections.stop();
      await gateway.close();
      // Sessions' last positions before the engine goes: clients resume on another node.
      await sessions.close();
      groupHygiene.close();
      await sessionStore.close();
      await quotaUsage.close();
      await holdings?.close();
      await app.close();
      await nodes.close();
      presenceTracker.stop();
      await presence.close();
      retries.close();
      queueGroups.close();
      await durableConsumers.close();
      await broker.close();
      await controlBus.close();
      await rateLimiterStore.close();
      // Records get a bounded share of the shutdown budget: a database that is down must not hang it.
      const recordsBudgetMs = config.SHUTDOWN_TIMEOUT_MS / 4;
      await Promise.all([tracker.close(recordsBudgetMs), subscriberCounts.close(), archiver.close()]);
      await audit.close({ timeoutMs: recordsBudgetMs });
      await database.close();
    })());

  return {
    config,
    port,
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}${WEBSOCKET_PATH}`,
    issuer,
    signingKey,
    broker,
    controlBus,
    nodeId,
    connections,
    realtimeStats: () => ({
      connections: connections.size,
      channels: router.channelCount,
      brokerSubscriptions: broker instanceof MemoryBroker ? broker.subscribedCount : undefined,
    }),
    database,
    repositories,
    controlPlane,
    maintenance,
    logger,
    nodes,
    latency,
    metricsPort: monitoring.metricsPort,
    httpServer,
    close,
  };
}
