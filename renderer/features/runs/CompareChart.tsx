// Several runs' training losses on one chart (smoothed and downsampled like the run charts).
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { downsample, mergeRuns, smooth } from './series.js';

const colors = ['var(--accent)', 'var(--accent-2)', 'var(--warn)', '#8a63d2', '#2a9d8f', '#e76f51'];

/** Each run's training loss by step (a run's series.steps, or a comparison cell's losses). */
export function CompareChart(props: {
  runs: { id: string; label: string; points: { step: number; loss: number }[] }[];
  smoothing: number;
  logScale: boolean;
}) {
  const rows = mergeRuns(
    props.runs.map((r) => ({
      id: r.id,
      points: smooth(downsample(r.points, 400), 'loss', props.smoothing),
    })),
  );
  return (
    <figure className="chart" data-testid="chart-compare" data-runs={props.runs.length}>
      <figcaption>Training loss</figcaption>
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={rows}>
          <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
          <XAxis
            dataKey="step"
            type="number"
            domain={['dataMin', 'dataMax']}
            stroke="var(--muted)"
            fontSize={11}
          />
          <YAxis
            scale={props.logScale ? 'log' : 'auto'}
            domain={['auto', 'auto']}
            stroke="var(--muted)"
            fontSize={11}
            width={48}
          />
          <Tooltip contentStyle={{ background: 'var(--panel)', border: '1px solid var(--line)' }} />
          <Legend />
          {props.runs.map((r, i) => (
            <Line
              key={r.id}
              dataKey={r.id}
              name={r.label}
              stroke={colors[i % colors.length]}
              dot={false}
              connectNulls
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
