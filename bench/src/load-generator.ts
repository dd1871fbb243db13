#!/usr/bin/env node
/**
 * A load-generator process, forked by run-all: holds client connections and runs the
 * commands it is sent over IPC (see ipc-protocol.ts), one at a time. Never the server's
 * process. Exits when the IPC channel closes.
 */
import { ClientPool } from './client-pool.js';
import { FanoutPhaseRunner } from './fanout-phase-runner.js';
import type { LoadCommand, LoadRequest, LoadResponse } from './ipc-protocol.js';
import { runPublishThroughput } from './publish-throughput-runner.js';

if (!process.send) {
  process.stderr.write('load-generator: run me with child_process.fork (I take commands over IPC)\n');
  process.exit(2);
}

const pool = new ClientPool();
let fanout: FanoutPhaseRunner | undefined;

async function execute(command: LoadCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'connect':
      return pool.connect(command.kind, command.url, command.tokens, command.count, command.concurrency, command.timeoutMs);
    case 'subscribe':
      fanout = new FanoutPhaseRunner(pool.clients.length - command.skip);
      return pool.subscribe(command.channel, command.skip, command.concurrency, fanout.deliver);
    case 'fanout-phase':
      if (!fanout) throw new Error('subscribe first');
      return fanout.run(publisherClient(), command.spec);
    case 'publish-throughput':
      return runPublishThroughput(publisherClient(), command.channel, command.window, command.durationMs, command.payloadBytes);
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
