import { useEffect, useRef, useState } from 'react';
import type { ApiXClient } from '@apix/sdk';
import { errorText } from '../api.js';
import { createClient, type FrameDirection } from '../sdk-client.js';
import { useSession } from '../session.js';

interface Line {
  readonly n: number;
  readonly kind: FrameDirection | 'event';
  readonly text: string;
}
const MAX_LINES = 300;

/** Credentials never appear on screen (or in screenshots): `connect` and `refresh` frames carry one. */
const redact = (text: string) => text.replace(/"token":"[^"]*"/g, '"token":"…"');

/**
 * A WebSocket console on the SDK: connect, subscribe, publish, see every raw frame, drop the
 * link and watch the SDK reconnect and resume (`recovering`/`recovered`, missed counts).
 */
export function Console() {
  const { session } = useSession();
  const [lines, setLines] = useState<Line[]>([]);
  const [state, setState] = useState('disconnected');
  const [resume, setResume] = useState<string>('');
  const [heartbeatRtt, setHeartbeatRtt] = useState<number>();
  const [channel, setChannel] = useState('agent:console');
  const [eventType, setEventType] = useState('custom.message');
  const [payload, setPayload] = useState('{"text":"hello"}');
  const client = useRef<ApiXClient | null>(null);
  const socket = useRef<WebSocket | null>(null);
  const counter = useRef(0);

  const log = (kind: Line['kind'], text: string) => setLines((l) => [...l.slice(-(MAX_LINES - 1)), { n: ++counter.current, kind, text: redact(text) }]);
  const logView = useRef<HTMLPreElement>(null);

  useEffect(() => () => client.current?.disconnect(), []);
  useEffect(() => {
    logView.current?.scrollTo({ top: logView.current.scrollHeight });
  }, [lines]);

  const connect = () => {
    client.current?.disconnect();
    const c = createClient(session!.token, (direction, data) => log(direction, data), (s) => (socket.current = s));
    c.on('state', ({ current }) => setState(current));
    c.on('connected', (ctx) => log('event', `connected: session ${ctx.sessionId}`));
    c.on('disconnected', (ctx) => log('event', `disconnected: code ${ctx.code} ${ctx.reason}; reconnecting in ${ctx.reconnectDelayMs} ms`));
    c.on('error', (ctx) => log('event', `error (${ctx.source}): ${ctx.error.message}`));
    // The application heartbeat's round trip is measured by the client (the server only echoes it).
    c.on('heartbeat', ({ rttMs }) => setHeartbeatRtt(rttMs));
    client.current = c;
    c.connect();
  };

  const subscribe = () => {
    const c = client.current;
    if (!c) return;
    c.subscribe(channel, {
      subscribed: (ctx) => {
        const text = `subscribed ${ctx.channel} at ${ctx.position.offset}: recovering=${ctx.recovering} recovered=${ctx.recovered}${ctx.missed !== undefined ? ` missed=${ctx.missed}` : ''}`;
        log('event', text);
        if (ctx.recovering) setResume(text);
      },
      publication: (p) => log('event', `publication ${p.channel} #${p.offset}: ${p.event.type} ${JSON.stringify(p.event.payload)}`),
      unsubscribed: (ctx) => log('event', `unsubscribed ${ctx.channel}: ${ctx.reason} ${ctx.error?.message ?? ''}`),
    });
  };

  const publish = async () => {
    try {
      const result = await client.current!.publish(channel, { type: eventType, payload: JSON.parse(payload) as unknown });
      log('event', `published at offset ${result.offset}`);
    } catch (e) {
      log('event', `publish failed: ${errorText(e)}`);
    }
  };

  /** Closes the socket under the SDK (code 4000: "reconnect"), as a network drop would. */
  const drop = () => socket.current?.close(4000, 'dropped from the console');

  return (
    <div className="screen">
      <h2>
        WebSocket console <span className={`badge ${state === 'connected' ? 'ok' : 'degraded'}`} data-testid="console-state">{state}</span>
        {heartbeatRtt !== undefined && <span className="muted small"> heartbeat RTT {heartbeatRtt} ms</span>}
      </h2>
      <div className="toolbar">
        <button onClick={connect} data-testid="console-connect">
          Connect
        </button>
        <button onClick={() => client.current?.disconnect()}>Disconnect</button>
        <button onClick={drop} data-testid="console-drop" className="danger">
          Drop connection
        </button>
      </div>
      <div className="toolbar">
        <input value={channel} onChange={(e) => setChannel(e.target.value)} data-testid="console-channel" />
        <button onClick={subscribe} data-testid="console-subscribe">
          Subscribe
        </button>
        <input value={eventType} onChange={(e) => setEventType(e.target.value)} data-testid="console-type" />
        <input className="wide" value={payload} onChange={(e) => setPayload(e.target.value)} data-testid="console-payload" />
        <button onClick={() => void publish()} data-testid="console-publish">
          Publish
        </button>
      </div>
      {resume && (
        <p className="resume" data-testid="console-resume">
          Last resume: {resume}
        </p>
      )}
      <pre className="log frames" data-testid="console-log" ref={logView}>
        {lines.map((l) => `${l.kind === 'in' ? '⬇' : l.kind === 'out' ? '⬆' : '•'} ${l.text}`).join('\n')}
      </pre>
    </div>
  );
}
