import { useState } from 'react';
import type { LiveConnection } from '@apix/protocol';
import { errorText } from '../api.js';
import { usePolling } from '../hooks.js';
import { useSession } from '../session.js';

/** Who is connected to this node (organisation-scoped), with both round trips (WebSocket and heartbeat); disconnect one. */
export function Connections() {
  const { api } = useSession();
  const { data, error, reload } = usePolling(() => api.get<{ nodeId: string; items: LiveConnection[] }>('/api/v1/monitoring/connections'), 2_000, [api]);
  const [message, setMessage] = useState<string>();
  const disconnect = async (c: LiveConnection, reconnect: boolean) => {
    try {
      const result = await api.send<{ closeCode: number }>('DELETE', `/api/v1/monitoring/connections/${encodeURIComponent(c.connectionId)}?reconnect=${reconnect}`);
      setMessage(`Closed ${c.connectionId} with ${result.closeCode}.`);
      reload();
    } catch (e) {
      setMessage(errorText(e));
    }
  };
  return (
    <div className="screen">
      <h2>
        Connections <span className="muted">{data ? `node ${data.nodeId}` : ''}</span>
      </h2>
      {error && <p className="error">{error}</p>}
      {message && <p className="muted">{message}</p>}
      <table data-testid="connection-table">
        <thead>
          <tr>
            <th>user</th>
            <th>client</th>
            <th>channels</th>
            <th title="WebSocket ping→pong timed by the server / application heartbeat as the client reports it">RTT ws / heartbeat</th>
            <th>buffered</th>
            <th>since</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.items.map((c) => (
            <tr key={c.connectionId} data-testid="connection-row">
              <td>
                {c.userId}
                {data.items.some((o) => o.organizationId !== c.organizationId) ? ` (${c.organizationId})` : ''}
              </td>
              <td>{c.clientType ?? '—'}</td>
              <td className="small">{c.channels.join(', ') || '—'}</td>
              <td data-testid="connection-rtt">
                {c.rttMs === null ? '—' : `${c.rttMs} ms`} / {c.heartbeatRttMs === null ? '—' : `${c.heartbeatRttMs} ms`}
              </td>
              <td>{c.bufferedBytes} B</td>
              <td className="small">{new Date(c.connectedAt).toLocaleTimeString()}</td>
              <td>
                <button onClick={() => void disconnect(c, true)}>Reconnect</button> <button className="danger" onClick={() => void disconnect(c, false)}>Disconnect</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data?.items.length === 0 && <p className="muted">No live connections on this node.</p>}
    </div>
  );
}
