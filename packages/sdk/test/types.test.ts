import { WebSocket as NodeWebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import type { ApiXClient, PublicationContext, PublishEventInput, WebSocketConstructor } from '../src/index.js';

/**
 * Compile-time checks (run by `npx tsc -p packages/sdk/test`); the runtime assertions only
 * keep vitest from reporting an empty file.
 */
describe('types', () => {
  it('accepts both the browser WebSocket and the ws package as the transport', () => {
    const browser: WebSocketConstructor | undefined = typeof WebSocket === 'undefined' ? undefined : WebSocket;
    const node: WebSocketConstructor = NodeWebSocket;
    expect(node).toBeTypeOf('function');
    expect(browser === undefined || typeof browser === 'function').toBe(true);
  });

  it('types domain payloads on publish and on receive', () => {
    const ok: PublishEventInput<'tool_call_start'> = { type: 'tool_call_start', payload: { toolCallId: 't', toolName: 'search' } };
    // @ts-expect-error toolName is required for tool_call_start
    const missing: PublishEventInput<'tool_call_start'> = { type: 'tool_call_start', payload: { toolCallId: 't' } };
    const custom: PublishEventInput<'my.custom'> = { type: 'my.custom', payload: 42 };
    const publish = (client: ApiXClient): void => {
      // @ts-expect-error 'dancing' is not an agent status
      void client.publish('agent:a', { type: 'agent_status_update', payload: { agentId: 'a', status: 'dancing' } });
      void client.publish('agent:a', { type: 'agent_status_update', payload: { agentId: 'a', status: 'running' } });
    };
    const onStart = (context: PublicationContext<'tool_call_start'>): string => context.event.payload.toolName;
    expect([ok, missing, custom, publish, onStart]).toHaveLength(5);
  });
});
