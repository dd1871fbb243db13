import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

/**
 * A small real-time line chart (uPlot: canvas, ~50 KB, redraws thousands of points per frame).
 * `times` are ms since epoch; the plot is created once and fed new data on every render.
 */
export function TimeChart({ title, times, series, unit, testId }: { title: string; times: readonly number[]; series: readonly ChartSeries[]; unit: string; testId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    if (!host.current) return;
    const options: uPlot.Options = {
      width: Math.max(280, host.current.clientWidth),
      height: 180,
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [{ stroke: '#8b93a7' }, { stroke: '#8b93a7', size: 60, values: (_u, ticks) => ticks.map((t) => `${t}${unit}`) }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } }))],
    };
    plot.current = new uPlot(options, [[], ...series.map(() => [])] as uPlot.AlignedData, host.current);
    const resize = () => host.current && plot.current?.setSize({ width: Math.max(280, host.current.clientWidth), height: 180 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, unit]);

  useEffect(() => {
    plot.current?.setData([times.map((t) => t / 1000), ...series.map((s) => [...s.values])] as uPlot.AlignedData);
  });

  return (
    <section className="card chart" data-testid={testId}>
      <h3>{title}</h3>
      <div ref={host} />
    </section>
  );
}
