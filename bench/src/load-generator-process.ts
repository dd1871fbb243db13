import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  ChurnResult,
  ConnectResult,
  ConnectSubscribeResult,
  FanoutPhaseResult,
  FanoutPhaseSpec,
  LoadCommand,
  LoadResponse,
  PingPhaseResult,
  PublishThroughputResult,
  StormResult,
  SubscribeResult,
} from './ipc-protocol.js';
import type { SubscriptionPlan } from './subscription-plan.js';

const SCRIPT = fileURLToPath(new URL('./load-generator.js', import.meta.url));
/** No command may take longer: a stuck run fails and its processes are stopped instead of hanging. */
const REQUEST_TIMEOUT_MS = 120_000;

/** The orchestrator's handle on a forked load-generator process. */
export class LoadGeneratorProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (response: LoadResponse) => {
      const pending = this.#pending.get(response.requestId);
      if (!pending) return;
      this.#pending.delete(response.requestId);
      if (response.ok) pending.resolve(response.result);
      else pending.reject(new Error(`load generator: ${response.error}`));
    });
    child.on('exit', (code, signal) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`load generator exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  static start(): LoadGeneratorProcess {
    return new LoadGeneratorProcess(fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get pid(): number {
    return this.#child.pid!;
  }

  connect(command: Omit<Extract<LoadCommand, { cmd: 'connect' }>, 'cmd'>): Promise<ConnectResult> {
    return this.#request({ cmd: 'connect', ...command }) as Promise<ConnectResult>;
  }

  connectAndSubscribe(command: Omit<Extract<LoadCommand, { cmd: 'connect-subscribe' }>, 'cmd'>): Promise<ConnectSubscribeResult> {
    // The command ends by its own deadline; the margin covers tearing down what it left.
    return this.#request({ cmd: 'connect-subscribe', ...command }, command.deadlineMs + REQUEST_TIMEOUT_MS) as Promise<ConnectSubscribeResult>;
  }

  /** Subscribes every connection but the first `skip` (the publishers) according to `plan`. */
  subscribe(plan: SubscriptionPlan, skip: number, concurrency: number): Promise<SubscribeResult> {
    return this.#request({ cmd: 'subscribe', plan, skip, concurrency }) as Promise<SubscribeResult>;
  }

  fanoutPhase(spec: FanoutPhaseSpec): Promise<FanoutPhaseResult> {
    return this.#request({ cmd: 'fanout-phase', spec }) as Promise<FanoutPhaseResult>;
  }

  publishThroughput(channel: string, window: number, durationMs: number, payloadBytes: number): Promise<PublishThroughputResult> {
    return this.#request({ cmd: 'publish-throughput', channel, window, durationMs, payloadBytes }) as Promise<PublishThroughputResult>;
  }

  churn(command: Omit<Extract<LoadCommand, { cmd: 'churn' }>, 'cmd'>): Promise<ChurnResult> {
    return this.#request({ cmd: 'churn', ...command }) as Promise<ChurnResult>;
  }

  storm(command: Omit<Extract<LoadCommand, { cmd: 'storm' }>, 'cmd'>): Promise<StormResult> {
    return this.#request({ cmd: 'storm', ...command }) as Promise<StormResult>;
  }

  /** Round trips on the process's first connection. */
  pingPhase(intervalMs: number, durationMs: number, timeoutMs: number): Promise<PingPhaseResult> {
    return this.#request({ cmd: 'ping-phase', intervalMs, durationMs, timeoutMs }) as Promise<PingPhaseResult>;
  }

  /** Drops every connection, then ends the process. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    try {
      await this.#request({ cmd: 'close' }, 5_000);
    } catch {
      // gone or stuck: the kill below ends it
    }
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  #request(command: LoadCommand, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    const requestId = ++this.#nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new Error(`load generator: ${command.cmd} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.#pending.set(requestId, { resolve: settle(resolve), reject: settle(reject) });
      if (!this.#child.connected) return this.#pending.get(requestId)!.reject(new Error('load generator is gone'));
      this.#child.send({ ...command, requestId });
    });
  }
}
