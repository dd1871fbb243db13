import WebSocket from 'ws';
import { BENCH_EVENT_TYPE, makePayload, type BenchPayload } from '../bench-event.js';
import { sleep, wallNow } from '../clock.js';
import { Histogram, type HistogramSummary } from '../histogram.js';
import { section, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { toMs } from './connections-scenario.js';
import { stopServer, type RunContext } from './run-context.js';
import type { Scenario } from './scenario.js';

/** Subscribers per phase: enough to load the delivery path, few enough for one bench process to drive. */
const SUBSCRIBERS = 50;
/**
 * Publishing connections, and publications in flight over all of them (closed loop). More than
 * one: APIX answers one connection's requests one at a time, in order, so a single publisher
 * measures its own round trips (which grow with the server's load) rather than delivery.
 */
const PUBLISHERS = 4;
const PUBLISH_WINDOW = 32;

export interface DeliveryPhase {
  published: number;
  delivered: number;
  expected: number;
  /** Delivered events per second, all subscribers together, first publication to last delivery. */
  eventsPerSecond: number;
  /** Publication sent → event received by a subscriber. */
  latencyMs: HistogramSummary;
  /** Events received more than once (acked phase: redeliveries; should be 0 on a healthy run). */
  duplicates: number;
}

export interface AckedDeliveryResult {
  subscribers: number;
  broadcast: DeliveryPhase;
  acked: DeliveryPhase;
  /** acked events/s ÷ broadcast events/s (the goal: at least 0.5). */
  throughputRatio: number;
}

interface Frame {
  type: string;
  id?: string;
  ok?: boolean;
  channel?: string;
  offset?: number;
  acknowledgment?: boolean;
  event?: { payload: BenchPayload };
  error?: { code: string };
}

/**
 * A minimal APIX client for this scenario: requests with replies, events to a callback, and
 * acks the way the SDK sends them (the offsets received within 10 ms in one `ack` frame).
 */
class Client {
  readonly #socket: WebSocket;
  readonly #pending = new Map<string, (frame: Frame) => void>();
  #next = 0;
  #acks: number[] = [];
  #ackChannel = '';
  onEvent: ((frame: Frame) => void) | undefined;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'event') {
        this.onEvent?.(frame);
        if (frame.acknowledgment) this.#queueAck(frame.channel!, frame.offset!);
      } else if (frame.type === 'reply' && frame.id) {
        this.#pending.get(frame.id)?.(frame);
        this.#pending.delete(frame.id);
      }
    });
  }

  static open(url: string, token: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${token}` } });
      const client = new Client(socket);
      socket.on('error', reject);
      socket.on('message', (data) => {
        if ((JSON.parse(data.toString()) as Frame).type === 'connection.established') resolve(client);
      });
    });
  }

  request(frame: Record<string, unknown>): Promise<Frame> {
    const id = `r${++this.#next}`;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  #queueAck(channel: string, offset: number): void {
    this.#ackChannel = channel;
    this.#acks.push(offset);
    if (this.#acks.length > 1) return;
    setTimeout(() => {
      const offsets = this.#acks;
      this.#acks = [];
      void this.request({ type: 'ack', channel: this.#ackChannel, offsets });
    }, 10);
  }

  close(): void {
    this.#socket.terminate();
  }
}

async function measurePhase(publishers: readonly Client[], subscribers: Client[], channel: string, acknowledgment: boolean, ctx: RunContext): Promise<DeliveryPhase> {
  for (const subscriber of subscribers) {
    const reply = await subscriber.request({ type: 'subscribe', channels: [channel], ...(acknowledgment ? { acknowledgment: true } : {}) });
    if (!reply.ok) throw new Error(`subscribe failed: ${JSON.stringify(reply.error)}`);
  }
  const latency = new Histogram();
  let delivered = 0;
  let duplicates = 0;
  let lastDeliveryAt = 0;
  const phase = `${channel}-${Date.now()}`;
  for (const subscriber of subscribers) {
    const seen = new Set<number>();
    subscriber.onEvent = (frame) => {
      const payload = frame.event!.payload;
      if (payload.phase !== phase) return;
      if (seen.has(payload.seq)) {
        duplicates += 1;
        return;
      }
      seen.add(payload.seq);
      delivered += 1;
      lastDeliveryAt = performance.now();
      latency.record((wallNow() - payload.sentAt) * 1000);
    };
  }
  const durationMs = ctx.settings.publishSeconds * 1000;
  let published = 0;
  let seq = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const sendOne = () => {
      inFlight += 1;
      seq += 1;
      const event = { type: BENCH_EVENT_TYPE, payload: makePayload(phase, seq, wallNow(), ctx.settings.payloadBytes) };
      void publishers[seq % publishers.length]!.request({ type: 'publish', channel, event }).then((reply) => {
        inFlight -= 1;
        if (reply.ok) published += 1;
        if (performance.now() < t0 + durationMs) while (inFlight < PUBLISH_WINDOW) sendOne();
        else if (inFlight === 0) resolve();
      });
    };
    while (inFlight < PUBLISH_WINDOW) sendOne();
  });
  const expected = published * subscribers.length;
  const deadline = performance.now() + 30_000;
  while (delivered < expected && performance.now() < deadline) await sleep(20);
  const elapsedMs = Math.max(lastDeliveryAt, performance.now() - 1) - t0;
  for (const subscriber of subscribers) {
    subscriber.onEvent = undefined;
    await subscriber.request({ type: 'unsubscribe', channels: [channel] });
  }
  return {
    published,
    delivered,
    expected,
    eventsPerSecond: (delivered / (lastDeliveryAt - t0 || elapsedMs)) * 1000,
    latencyMs: toMs(latency.summary()),
    duplicates,
  };
}

/**
 * Acknowledged delivery against broadcast in the same run and server: 50 subscribers, four
 * publishers keeping 32 publications in flight in all for `publishSeconds`; first the subscribers take
 * the channel as broadcast, then a second channel with `acknowledgment: true`, acking every
 * event the way the SDK does. Events/s counts deliveries to all subscribers together.
 */
export async function runAckedDeliveryScenario(target: Target, ctx: RunContext): Promise<AckedDeliveryResult> {
  const server = await startServer(target, ctx.environment);
  const clients: Client[] = [];
  try {
    const url = server.url;
    for (let i = 0; i < PUBLISHERS + SUBSCRIBERS; i++) clients.push(await Client.open(url, ctx.tokens[i % ctx.tokens.length]!));
    const publishers = clients.slice(0, PUBLISHERS);
    const subscribers = clients.slice(PUBLISHERS);
    // Warm-up of both paths, so the JIT has seen them before either is measured.
    const warm = { ...ctx, settings: { ...ctx.settings, publishSeconds: 1 } };
    await measurePhase(publishers, subscribers, 'agent:bench-warm-plain', false, warm);
    await measurePhase(publishers, subscribers, 'agent:bench-warm-acked', true, warm);
    const broadcast = await measurePhase(publishers, subscribers, 'agent:bench-plain', false, ctx);
    const acked = await measurePhase(publishers, subscribers, 'agent:bench-acked', true, ctx);
    return { subscribers: subscribers.length, broadcast, acked, throughputRatio: acked.eventsPerSecond / broadcast.eventsPerSecond };
  } finally {
    for (const client of clients) client.close();
    await stopServer(server, target, ctx);
  }
}

const metrics: Metric<AckedDeliveryResult>[] = [
  { label: 'broadcast events/s', better: 'higher', decimals: 0, value: (r) => r.broadcast.eventsPerSecond },
  { label: 'broadcast p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.broadcast.latencyMs.p50 },
  { label: 'broadcast p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.broadcast.latencyMs.p99 },
  { label: 'acked events/s', better: 'higher', decimals: 0, value: (r) => r.acked.eventsPerSecond },
  { label: 'acked p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.acked.latencyMs.p50 },
  { label: 'acked p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.acked.latencyMs.p99 },
  { label: 'acked / broadcast events/s', better: 'higher', decimals: 2, value: (r) => r.throughputRatio, noRatio: true },
  { label: 'acked delivered / expected', better: '', decimals: 0, value: (r) => r.acked.delivered, text: (r) => `${r.acked.delivered} / ${r.acked.expected}`, noRatio: true },
  { label: 'acked duplicates', better: 'lower', decimals: 0, value: (r) => r.acked.duplicates, noRatio: true },
];

export const ackedDeliveryScenario: Scenario<AckedDeliveryResult> = {
  id: 'acked-delivery',
  summary: 'broadcast vs acknowledged delivery in one run: events/s and p99, 50 subscribers, acks as the SDK sends them',
  defaultTargets: ['apix', 'apix-redis'],
  supportedTargets: ['apix', 'apix-pg', 'apix-redis'],
  run: runAckedDeliveryScenario,
  render: ({ number, settings, targets, outcomes }) =>
    [
      `${number}. Acknowledged vs broadcast delivery: ${SUBSCRIBERS} subscribers, ${PUBLISHERS} publishers with ${PUBLISH_WINDOW} in flight in all, ${settings.publishSeconds} s per mode (goal: acked ≥ 0.5 × broadcast)`,
      section(targets, outcomes, metrics),
    ].join('\n'),
};
