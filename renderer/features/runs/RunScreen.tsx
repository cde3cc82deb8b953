// Run: the current run's live charts, step counter, elapsed time and ETA, pause and continue,
// cancel and resume, smoothing and log scale. Charts stay after the run ends.
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { formatBytes, formatDuration, formatLoss } from '../../lib/format.js';
import { useNav } from '../../lib/nav-store.js';
import { methodLabel } from '../methods/adapters.js';
import { RunCharts } from './RunCharts.js';
import { useRuns } from './runs-store.js';
import { deviceSourceLabels } from './series.js';
import type { ClusterJobSummary } from '../../../main/contract.js';

export function RunScreen() {
  const r = useRuns();
  const go = useNav((s) => s.go);
  const id = r.current;
  const view = id ? r.views[id] : undefined;
  const summary = r.list.find((s) => s.id === id);
  if (!id || !view) {
    return (
      <div className="screen">
        <h2>Run</h2>
        <EmptyState title="No run yet.">
          Choose a model, a dataset and a method, then press Start; or open a past run from Runs.
        </EmptyState>
      </div>
    );
  }
  const last = view.series.steps[view.series.steps.length - 1];
  const paused = view.status === 'paused';
  const live = view.status === 'running' || view.status === 'starting' || paused;
  const pending = r.pending[id];
  const resumable =
    (view.status === 'cancelled' || view.status === 'failed') &&
    summary?.checkpointStep !== undefined;
  return (
    <div className="screen">
      <div className="run-head">
        <h2>
          Run <span className="mono">{id}</span>
        </h2>
        <span className={`status status-${view.status}`} data-testid="run-status">
          {view.status}
        </span>
        {(view.cluster ?? summary?.cluster) && (
          <ClusterState job={(view.cluster ?? summary?.cluster)!} />
        )}
        {pending && (
          <span className="hint" aria-live="polite">
            {pending === 'pause' ? 'Pausing after this step…' : 'Continuing…'}
          </span>
        )}
      </div>
      <dl className="facts inline run-stats">
        <dt>Step</dt>
        <dd data-testid="run-step">
          {last?.step ?? 0}
          {summary?.maxSteps !== undefined && ` / ${summary.maxSteps}`}
        </dd>
        <dt>Loss</dt>
        <dd>{formatLoss(last?.loss)}</dd>
        <dt>Elapsed</dt>
        <dd data-testid="run-elapsed">{formatDuration(last?.elapsedMs ?? 0)}</dd>
        <dt>ETA</dt>
        <dd data-testid="run-eta">
          {paused ? 'paused' : live && last ? formatDuration(last.etaMs) : '—'}
        </dd>
        <dt>Tensor peak</dt>
        <dd>{formatBytes(view.series.peakBytes)}</dd>
        {view.series.deviceSource && (
          <>
            <dt>Device peak</dt>
            <dd title={deviceSourceLabels[view.series.deviceSource]}>
              {formatBytes(view.series.peakDeviceBytes)}
            </dd>
          </>
        )}
        <dt>Method</dt>
        <dd>{methodLabel(summary?.method, summary?.peft)}</dd>
      </dl>
      <div className="actions">
        {live && view.status !== 'starting' && !view.cluster && (
          <button
            type="button"
            className={paused ? 'primary' : undefined}
            disabled={pending !== undefined}
            onClick={() => void r.pause(id, !paused)}
          >
            {paused ? 'Continue' : 'Pause'}
          </button>
        )}
        {live && (
          <button type="button" onClick={() => void r.cancel(id)}>
            Cancel (saves a checkpoint)
          </button>
        )}
        {resumable && (
          <button type="button" className="primary" onClick={() => void r.resume(id)}>
            Resume from step {summary.checkpointStep}
          </button>
        )}
        {!live && summary?.checkpointStep !== undefined && (
          <>
            <button type="button" onClick={() => go('export')}>
              Export…
            </button>
            <button type="button" onClick={() => go('playground')}>
              Try it in the playground
            </button>
          </>
        )}
        <label className="slider">
          Smoothing {r.smoothing.toFixed(2)}
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={r.smoothing}
            onChange={(e) => r.setSmoothing(e.target.valueAsNumber)}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={r.logScale}
            onChange={(e) => r.setLogScale(e.target.checked)}
          />
          Log scale
        </label>
      </div>
      {view.error && <ErrorNote error={view.error} />}
      {r.error && <ErrorNote error={r.error} />}
      {view.series.steps.length === 0 && live && (
        <p aria-live="polite">Loading the model and the data…</p>
      )}
      <RunCharts series={view.series} smoothing={r.smoothing} logScale={r.logScale} />
      <p className="path">Run folder: {summary?.dir}</p>
    </div>
  );
}

/** A cluster run's job: Slurm's state (queued, running, why it ended) and its reason. */
function ClusterState({ job }: { job: ClusterJobSummary }) {
  const words: Record<string, string> = {
    PENDING: 'queued',
    RUNNING: 'running',
    COMPLETING: 'ending',
  };
  const state =
    job.state === undefined ? 'submitted' : (words[job.state] ?? job.state.toLowerCase());
  return (
    <span className="hint" data-testid="run-cluster">
      {job.name} · job {job.jobId} · {state}
      {job.reason && ` (${job.reason})`}
    </span>
  );
}
