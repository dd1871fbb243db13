#!/usr/bin/env node
/**
 * A load-generator process, forked by run-all: holds client connections and runs the
 * commands it is sent over IPC (see ipc-protocol.ts), one at a time. Never the server's
 * process. Exits when the IPC channel closes.
 */
import { runChurn } from './churn-runner.js';
import { ClientPool } from './client-pool.js';
import { FanoutPhaseRunner } from './fanout-phase-runner.js';
import type { LoadCommand, LoadRequest, LoadResponse } from './ipc-protocol.js';
import { runPingPhase } from './ping-runner.js';
import { runPublishThroughput } from './publish-throughput-runner.js';
import { runStorm } from './storm-runner.js';

if (!process.send) {
  process.stderr.write('load-generator: run me with child_process.fork (I take commands over IPC)\n');
  process.exit(2);
}

const pool = new ClientPool();
let fanout: FanoutPhaseRunner | undefined;
/** The first connections, left out of the last `subscribe`: they publish in fan-out phases. */
let publishers = 1;

async function execute(command: LoadCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'connect': {
      const options = command.localAddress !== undefined ? { localAddress: command.localAddress } : {};
      return pool.connect(command.kind, command.url, command.tokens, command.count, command.concurrency, command.timeoutMs, options);
    }
    case 'connect-subscribe': {
      const options = command.localAddress !== undefined ? { localAddress: command.localAddress } : {};
      return pool.connectAndSubscribe(command.kind, command.url, command.tokens, command.count, command.concurrency, command.deadlineMs, command.plan, command.originWallMs, options);
    }
    case 'subscribe': {
      // One channel shared by every subscriber: a publication reaches all of them; channels of their own: one each.
      const subscribers = pool.clients.length - command.skip;
      fanout = new FanoutPhaseRunner(command.plan.kind === 'shared' ? subscribers : 1);
      publishers = command.skip;
      return pool.subscribe(command.plan, command.skip, command.concurrency, fanout.deliver);
    }
    case 'fanout-phase':
      if (!fanout) throw new Error('subscribe first');
      return fanout.run(pool.clients.slice(0, Math.min(publishers, command.spec.publishers)), command.spec);
    case 'publish-throughput':
      return runPublishThroughput(publisherClient(), command.channel, command.window, command.durationMs, command.payloadBytes);
    case 'churn':
      return runChurn(pool.clients.slice(command.skip), command.plan, command.rate, command.durationMs, command.maxInFlight);
    case 'ping-phase':
      return runPingPhase(publisherClient(), command.intervalMs, command.durationMs, command.timeoutMs);
    case 'storm':
      return runStorm(pool.clients.slice(0, command.connections), command.prefix, command.durationMs);
    case 'close':
      return { closed: pool.closeAll() };
  }
}

function publisherClient() {
  const client = pool.clients[0];
  if (!client) throw new Error('no connection to publish on');
  return client;
}

let queue = Promise.resolve();
process.on('message', (request: LoadRequest) => {
  queue = queue.then(async () => {
    let response: LoadResponse;
    try {
      response = { requestId: request.requestId, ok: true, result: await execute(request) };
    } catch (error) {
      response = { requestId: request.requestId, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    process.send!(response);
  });
});
process.on('disconnect', () => process.exit(0));
