// A run's live charts: loss (train and validation), learning rate, gradient norm or projected
// gradient, tensor memory (live and peak), the backend's device memory (now and peak) and
// tokens per second; smoothed and downsampled.
import type { ReactNode } from 'react';
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
import {
  deviceRows,
  deviceSourceLabels,
  downsample,
  smooth,
  type RunSeries,
  type StepPoint,
} from './series.js';

const MAX_POINTS = 300;
const MiB = 1024 * 1024;

function Chart(props: {
  id: string;
  title: string;
  points: number;
  /** The newest value, for tests and screen readers. */
  last?: string;
  children: ReactNode;
}) {
  return (
    <figure
      className="chart"
      data-testid={`chart-${props.id}`}
      data-points={props.points}
      data-last={props.last ?? ''}
    >
      <figcaption>
        {props.title}
        {props.last !== undefined && <span className="chart-last"> {props.last}</span>}
      </figcaption>
      <ResponsiveContainer width="100%" height={190}>
        {props.children as React.ReactElement}
      </ResponsiveContainer>
    </figure>
  );
}

const axis = { stroke: 'var(--muted)', fontSize: 11 };
const tooltip = { contentStyle: { background: 'var(--panel)', border: '1px solid var(--line)' } };

export function RunCharts(props: { series: RunSeries; smoothing: number; logScale: boolean }) {
  const raw = downsample(props.series.steps, MAX_POINTS);
  const steps = (['loss', 'grad', 'tokensPerSec'] as const).reduce(
    (points, key) => smooth(points, key, props.smoothing),
    raw,
  );
  const evals = props.series.evals;
  // Train and validation losses on one axis: rows by step, validation only where it was measured.
  const lossRows: { step: number; loss?: number; val?: number }[] = steps.map((p) => ({
    step: p.step,
    loss: p.loss,
  }));
  for (const e of evals) {
    const row = lossRows.find((r) => r.step === e.step);
    if (row) row.val = e.loss;
    else lossRows.push({ step: e.step, val: e.loss });
  }
  lossRows.sort((a, b) => a.step - b.step);
  const memory = raw.map((p: StepPoint) => ({
    step: p.step,
    live: p.liveBytes / MiB,
    peak: p.peakBytes / MiB,
  }));
  const device = downsample(deviceRows(props.series.steps), MAX_POINTS).map((r) => ({
    step: r.step,
    now: r.now / MiB,
    peak: r.peak / MiB,
  }));
  const source = props.series.deviceSource;
  const last = props.series.steps[props.series.steps.length - 1];
  const scale = props.logScale ? ('log' as const) : ('auto' as const);
  const hasGrad = steps.some((p) => p.grad !== undefined);
  return (
    <div className="charts">
      <Chart id="loss" title="Loss" points={props.series.steps.length} last={last?.loss.toFixed(4)}>
        <LineChart data={lossRows}>
          <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} {...axis} />
          <YAxis scale={scale} domain={['auto', 'auto']} {...axis} width={48} />
          <Tooltip {...tooltip} />
          <Legend />
          <Line
            dataKey="loss"
            name="train"
            stroke="var(--accent)"
            dot={false}
            isAnimationActive={false}
            connectNulls
          />
          <Line
            dataKey="val"
            name="validation"
            stroke="var(--accent-2)"
            dot
            isAnimationActive={false}
            connectNulls
          />
        </LineChart>
      </Chart>
      <Chart
        id="memory"
        title="Tensor memory (MiB)"
        points={memory.length}
        last={
          last
            ? `${(last.liveBytes / MiB).toFixed(2)} live · ${(last.peakBytes / MiB).toFixed(2)} peak`
            : undefined
        }
      >
        <LineChart data={memory}>
          <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} {...axis} />
          <YAxis {...axis} width={48} />
          <Tooltip {...tooltip} />
          <Legend />
          <Line dataKey="live" stroke="var(--accent)" dot={false} isAnimationActive={false} />
          <Line dataKey="peak" stroke="var(--warn)" dot={false} isAnimationActive={false} />
        </LineChart>
      </Chart>
      {device.length > 0 && source && (
        <Chart
          id="device"
          title={`Device memory (MiB): ${deviceSourceLabels[source]}`}
          points={device.length}
          last={`${device[device.length - 1]!.now.toFixed(1)} now · ${(props.series.peakDeviceBytes / MiB).toFixed(1)} peak`}
        >
          <LineChart data={device}>
            <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} {...axis} />
            <YAxis {...axis} width={56} domain={['auto', 'auto']} />
            <Tooltip {...tooltip} />
            <Legend />
            <Line dataKey="now" stroke="var(--accent)" dot={false} isAnimationActive={false} />
            <Line dataKey="peak" stroke="var(--warn)" dot={false} isAnimationActive={false} />
          </LineChart>
        </Chart>
      )}
      <Chart
        id="lr"
        title="Learning rate"
        points={steps.length}
        last={last && (last.lr === 0 ? '0' : last.lr.toExponential(2))}
      >
        <LineChart data={steps}>
          <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} {...axis} />
          <YAxis
            {...axis}
            width={56}
            tickFormatter={(v: number) => (v === 0 ? '0' : v.toExponential(1))}
          />
          <Tooltip {...tooltip} />
          <Line dataKey="lr" stroke="var(--accent-2)" dot={false} isAnimationActive={false} />
        </LineChart>
      </Chart>
      {hasGrad && (
        <Chart id="grad" title="Gradient norm / |projected gradient|" points={steps.length}>
          <LineChart data={steps}>
            <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} {...axis} />
            <YAxis scale={scale} domain={['auto', 'auto']} {...axis} width={48} />
            <Tooltip {...tooltip} />
            <Line dataKey="grad" stroke="var(--accent)" dot={false} isAnimationActive={false} />
          </LineChart>
        </Chart>
      )}
      <Chart
        id="tps"
        title="Tokens per second"
        points={steps.length}
        last={last?.tokensPerSec.toFixed(0)}
      >
        <LineChart data={steps}>
          <CartesianGrid stroke="var(--line)" strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} {...axis} />
          <YAxis {...axis} width={48} />
          <Tooltip {...tooltip} />
          <Line
            dataKey="tokensPerSec"
            name="tokens/s"
            stroke="var(--accent-2)"
            dot={false}
            isAnimationActive={false}
          />
        </LineChart>
      </Chart>
    </div>
  );
}
