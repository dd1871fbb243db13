import WebSocket from 'ws';
import type { Socket } from 'node:net';
import { BENCH_EVENT_TYPE, makePayload } from '../bench-event.js';
import { sleep, wallNow } from '../clock.js';
import { Histogram, type HistogramSummary } from '../histogram.js';
import { section, type Metric } from '../report.js';
import { startServer } from '../server-process.js';
import type { Target } from '../targets.js';
import { WsBenchClient } from '../ws-bench-client.js';
import { toMs } from './connections-scenario.js';
import { stopServer, type RunContext } from './run-context.js';
import type { Scenario } from './scenario.js';

/** Healthy subscribers whose latency is measured. */
const SUBSCRIBERS = 50;
/** Publications per second to the healthy subscribers' channel, open loop, and their size. */
const RATE = 500;
const PAYLOAD_BYTES = 2_048;
const PHASE_SECONDS = 10;
const CHANNEL = 'agent:bench-slow-consumer';
/** How long the slow consumer stops reading each time before it reads (and learns whether it was closed). */
const STALL_MS = 3_000;
/**
 * A second channel only the slow consumer takes, published in both phases: 12 MB/s (frames
 * under MAX_FRAME_BYTES, within the organisation's 16 MB/s quota), so a consumer that stops
 * reading fills the kernel's buffers (up to ~36 MB on loopback with Linux's default autotuning)
 * and then the server's send cap within seconds, again and again. With less, the kernel alone
 * absorbs a 10 s phase and the server never has a slow consumer to handle.
 */
const FIREHOSE = 'agent:bench-slow-firehose';
const FIREHOSE_RATE = 200;
const FIREHOSE_BYTES = 60_000;

export interface SlowConsumerPhase {
  delivered: number;
  expected: number;
  /** Publication sent → event received, healthy subscribers only. */
  latencyMs: HistogramSummary;
}

export interface SlowConsumerResult {
  without: SlowConsumerPhase;
  withSlow: SlowConsumerPhase;
  /** p99 with a slow consumer ÷ p99 without (the goal: at most 2). */
  p99Ratio: number;
  /** How often the slow consumer was closed (4004 on APIX) and came back to stall again. */
  slowCloses: number;
  closeCodes: string;
}

/**
 * A consumer that stops reading: it subscribes, then its TCP socket is paused for STALL_MS, so
 * everything sent to it piles up in the kernel and the server. When it reads again and finds
 * itself closed (APIX: 4004 at the send cap) it comes back at once and stalls again, for the
 * whole phase: the worst neighbour a fan-out has.
 */
function stallRepeatedly(url: string, token: string, closes: Map<number, number>): () => void {
  let stopped = false;
  let socket: WebSocket | undefined;
  const open = () => {
    if (stopped) return;
    socket = new WebSocket(url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${token}` } });
    socket.on('error', () => undefined);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string };
      if (frame.type === 'connection.established') socket!.send(JSON.stringify({ type: 'subscribe', id: 's', channels: [CHANNEL, FIREHOSE] }));
      else if (frame.type === 'reply') {
        // Stalls for a while, then reads again: only then can it learn it was closed (the close
        // frame waits in its receive buffer), and it comes back to stall again.
        const tcp = (socket as unknown as { _socket: Socket })._socket;
        tcp.pause();
        setTimeout(() => tcp.resume(), STALL_MS);
      }
    });
    socket.on('close', (code) => {
      closes.set(code, (closes.get(code) ?? 0) + 1);
      setTimeout(open, 50);
    });
  };
  open();
  return () => {
    stopped = true;
    socket?.terminate();
  };
}

async function measurePhase(publisher: WsBenchClient, subscribers: WsBenchClient[], phase: string): Promise<SlowConsumerPhase> {
  const latency = new Histogram();
  let delivered = 0;
  for (const subscriber of subscribers) {
    subscriber.onPayload = (payload) => {
      if (payload.phase !== phase) return;
      delivered += 1;
      latency.record((wallNow() - payload.sentAt) * 1000);
    };
  }
  let published = 0;
  const perTick = RATE / 100;
  const t0 = performance.now();
  for (let tick = 0; performance.now() < t0 + PHASE_SECONDS * 1000; tick++) {
    for (let i = 0; i < perTick; i++) {
      published += 1;
      void publisher.publish(CHANNEL, BENCH_EVENT_TYPE, makePayload(phase, published, wallNow(), PAYLOAD_BYTES)).catch(() => undefined);
    }
    for (let i = 0; i < FIREHOSE_RATE / 100; i++) {
      void publisher.publish(FIREHOSE, BENCH_EVENT_TYPE, makePayload(`${phase}-firehose`, tick, wallNow(), FIREHOSE_BYTES)).catch(() => undefined);
    }
    // Open loop: the next tick is due at a fixed time, whatever the server did meanwhile.
    await sleep(Math.max(0, t0 + (tick + 1) * 10 - performance.now()));
  }
  const expected = published * subscribers.length;
  const deadline = performance.now() + 30_000;
  while (delivered < expected && performance.now() < deadline) await sleep(20);
  for (const subscriber of subscribers) subscriber.onPayload = undefined;
  return { delivered, expected, latencyMs: toMs(latency.summary()) };
}

/**
 * Issue 9's slow-consumer check: the healthy subscribers' publish→deliver p99 with one consumer
 * that keeps stalling, against the same run without it. A server that buffers for the stalled
 * consumer without bound, or that stalls its loop on it, shows here.
 */
export async function runSlowConsumerScenario(target: Target, ctx: RunContext): Promise<SlowConsumerResult> {
  // The server's own send cap (1 MiB by default), not the bench's raised one: the cap is what is measured.
  const server = await startServer(target, ctx.environment, {
    env: (port) => {
      const { MAX_SEND_BUFFER_BYTES: _raised, ...env } = target.env(port, ctx.environment);
      return env;
    },
  });
  const clients: WsBenchClient[] = [];
  const closes = new Map<number, number>();
  let stopStalling: (() => void) | undefined;
  try {
    const token = (i: number) => (target.authenticated ? ctx.tokens[i % ctx.tokens.length] : undefined);
    for (let i = 0; i <= SUBSCRIBERS; i++) {
      const client = new WsBenchClient(server.url, token(i));
      await client.open(30_000);
      clients.push(client);
    }
    const [publisher, ...subscribers] = clients;
    for (const subscriber of subscribers) await subscriber.subscribe(CHANNEL);
    // Warm-up, so the JIT has seen the path before either phase is measured.
    await measurePhase(publisher!, subscribers, 'warm');
    const without = await measurePhase(publisher!, subscribers, 'without');
    stopStalling = stallRepeatedly(server.url, token(SUBSCRIBERS + 1) ?? '', closes);
    const withSlow = await measurePhase(publisher!, subscribers, 'with-slow');
    const slowCloses = [...closes.values()].reduce((a, b) => a + b, 0);
    const closeCodes = [...closes].map(([code, n]) => `${code}×${n}`).join(' ') || 'none';
    return { without, withSlow, p99Ratio: withSlow.latencyMs.p99 / without.latencyMs.p99, slowCloses, closeCodes };
  } finally {
    stopStalling?.();
    for (const client of clients) client.terminate();
    await stopServer(server, target, ctx);
  }
}

const metrics: Metric<SlowConsumerResult>[] = [
  { label: 'without: p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.without.latencyMs.p50 },
  { label: 'without: p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.without.latencyMs.p99 },
  { label: 'with a slow consumer: p50 (ms)', better: 'lower', decimals: 2, value: (r) => r.withSlow.latencyMs.p50 },
  { label: 'with a slow consumer: p99 (ms)', better: 'lower', decimals: 2, value: (r) => r.withSlow.latencyMs.p99 },
  { label: 'p99 with ÷ without (goal ≤ 2)', better: 'lower', decimals: 2, value: (r) => r.p99Ratio, noRatio: true },
  { label: 'healthy delivered / expected', better: '', decimals: 0, value: (r) => r.withSlow.delivered, text: (r) => `${r.withSlow.delivered} / ${r.withSlow.expected}`, noRatio: true },
  { label: 'slow consumer closed (codes)', better: '', decimals: 0, value: (r) => r.slowCloses, text: (r) => r.closeCodes, noRatio: true },
];

export const slowConsumerScenario: Scenario<SlowConsumerResult> = {
  id: 'slow-consumer',
  summary: `${SUBSCRIBERS} subscribers' p99 with and without one consumer that keeps stalling (${RATE} × ${PAYLOAD_BYTES} B publications/s, and a 12 MB/s channel only it takes): the send cap at work`,
  defaultTargets: ['apix', 'ws'],
  run: runSlowConsumerScenario,
  render: ({ number, targets, outcomes }) =>
    [
      `${number}. Slow consumer: ${SUBSCRIBERS} healthy subscribers, ${RATE} publications/s of ${PAYLOAD_BYTES} B for ${PHASE_SECONDS} s, then the same with one consumer that stops reading (and comes back to stall again whenever it is closed); ${FIREHOSE_RATE} × ${FIREHOSE_BYTES / 1000} kB/s go to a channel only the slow one takes, in both phases`,
      section(targets, outcomes, metrics),
    ].join('\n'),
};
