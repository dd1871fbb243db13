import type { AlertsResponse, DashboardResponse, HealthResponse } from '@apix/protocol';
import { TimeChart } from '../components/time-chart.js';
import { usePolling } from '../hooks.js';
import { useSession } from '../session.js';

const REFRESH_MS = 1_000;

function Tile({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <div className="tile" data-testid={testId}>
      <div className="tile-value">{value}</div>
      <div className="tile-label">{label}</div>
    </div>
  );
}

/**
 * Live overview: `/api/v1/monitoring/dashboard` once a second (every node of the cluster merged
 * by the server), charts of the per-second timeline; recently cleared alerts from `/alerts`.
 */
export function Overview() {
  const { api } = useSession();
  const { data, error } = usePolling(() => api.get<DashboardResponse>('/api/v1/monitoring/dashboard'), REFRESH_MS, [api]);
  const health = usePolling(() => api.get<HealthResponse>('/api/v1/monitoring/health'), 5_000, [api]);
  const alerts = usePolling(() => api.get<AlertsResponse>('/api/v1/monitoring/alerts'), 5_000, [api]);
  if (!data) return <p className={error ? 'error' : 'muted'}>{error ?? 'Loading…'}</p>;
  const t = data.timeline;
  const times = t.map((s) => s.at);
  return (
    <div className="screen">
      <h2>
        Overview{' '}
        <span className="muted" data-testid="overview-scope">
          ({data.scope === 'platform' ? 'platform' : `organisation ${data.organizationId}`}, {data.nodes.length === 1 ? `node ${data.nodeId}` : `${data.nodes.length} nodes`})
        </span>
      </h2>
      {error && <p className="error">{error}</p>}
      {data.partial && (
        <p className="error" data-testid="overview-partial">
          The other nodes' figures could not be read (Redis): node {data.nodeId} alone.
        </p>
      )}
      <div className="tiles">
        <Tile label="live connections" value={data.connections} testId="tile-connections" />
        <Tile label="channels" value={data.channels} testId="tile-channels" />
        <Tile label="publishes/s" value={data.current.publishesPerSecond} testId="tile-publishes-rate" />
        <Tile label="deliveries/s" value={data.current.deliveriesPerSecond} testId="tile-deliveries-rate" />
        <Tile label="publishes (total)" value={data.totals.publishes} testId="tile-publishes-total" />
        <Tile label="deliveries (total)" value={data.totals.deliveries} testId="tile-deliveries-total" />
        <Tile label="p50 / p99 ms (recent)" value={`${data.delivery.p50} / ${data.delivery.p99}`} testId="tile-latency" />
        <Tile label="event-loop lag ms" value={data.current.eventLoopLagMs} testId="tile-lag" />
      </div>
      <div className="charts">
        <TimeChart
          testId="chart-throughput"
          title="Throughput (per second)"
          unit=""
          times={times}
          series={[
            { label: 'publishes/s', color: '#4f8cff', values: t.map((s) => s.publishesPerSecond) },
            { label: 'deliveries/s', color: '#35c48b', values: t.map((s) => s.deliveriesPerSecond) },
          ]}
        />
        <TimeChart
          testId="chart-latency"
          title={`Publish → deliver latency${data.nodes.length > 1 ? ' (per second: the slowest node)' : ''}`}
          unit="ms"
          times={times}
          series={[
            { label: 'p50', color: '#f5b942', values: t.map((s) => s.p50Ms) },
            { label: 'p99', color: '#ef5b5b', values: t.map((s) => s.p99Ms) },
          ]}
        />
        <TimeChart testId="chart-lag" title="Event-loop lag (p99)" unit="ms" times={times} series={[{ label: 'lag', color: '#b07cff', values: t.map((s) => s.eventLoopLagMs) }]} />
      </div>
      <div className="columns">
        <section className="card" data-testid="alerts">
          <h3>Alerts</h3>
          {data.alerts.length === 0 && <p className="muted">No active alerts.</p>}
          <ul className="list">
            {data.alerts.map((a) => (
              <li key={a.id} className={`alert ${a.severity}`}>
                <b>{a.rule}</b> {a.organizationId ?? 'platform'} ({a.nodeId}) — {a.message}
              </li>
            ))}
            {alerts.data?.recent.slice(0, 5).map((a) => (
              <li key={a.id} className="alert cleared">
                {a.rule} — {a.message}
              </li>
            ))}
          </ul>
        </section>
        <section className="card" data-testid="nodes">
          <h3>Nodes</h3>
          <table>
            <thead>
              <tr>
                <th>node</th>
                <th>engine</th>
                <th>version</th>
                <th>uptime</th>
                <th>connections</th>
                <th>channels</th>
                <th>publishes/s</th>
                <th>deliveries/s</th>
                <th>p99</th>
                <th>lag</th>
              </tr>
            </thead>
            <tbody>
              {data.nodes.map((n) => (
                <tr key={n.nodeId} data-testid="node-row">
                  <td>{n.nodeId}</td>
                  <td>{n.engine}</td>
                  <td>{n.version}</td>
                  <td>{n.uptimeSeconds}s</td>
                  <td>{n.connections}</td>
                  <td>{n.channels}</td>
                  <td>{n.publishesPerSecond}</td>
                  <td>{n.deliveriesPerSecond}</td>
                  <td>{n.p99Ms} ms</td>
                  <td>{n.eventLoopLagMs} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Health {health.data && <span className={`badge ${health.data.status}`}>{health.data.status}</span>}</h3>
          <ul className="list">
            {health.data?.components.map((c) => (
              <li key={c.name}>
                <span className={`badge ${c.status}`}>{c.status}</span> {c.name}: {c.detail}
              </li>
            ))}
          </ul>
        </section>
      </div>
    </div>
  );
}
