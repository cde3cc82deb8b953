// Runs: the history with status, method, model, final loss and peak memory; compare runs on one
// chart, open one, resume a stopped or failed one, and find its folder.
import { useEffect, useState } from 'react';
import { methodLabel } from '../methods/adapters.js';
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { formatBytes, formatLoss } from '../../lib/format.js';
import { useNav } from '../../lib/nav-store.js';
import { SweepPanel } from '../sweeps/SweepPanel.js';
import { CompareChart } from './CompareChart.js';
import { useRuns } from './runs-store.js';

/** Only the desktop app has a file manager to open folders in. */
const desktop = window.whetstone !== undefined;
const base = (p?: string) => p?.split(/[\\/]/).pop() ?? '—';

export function RunsScreen() {
  const r = useRuns();
  const go = useNav((s) => s.go);
  const [copied, setCopied] = useState<string>();
  useEffect(() => void useRuns.getState().refresh(), []);
  const compared = r.compare
    .map((id) => ({ id, view: r.views[id], summary: r.list.find((s) => s.id === id) }))
    .filter((c) => c.view !== undefined)
    .map((c) => ({
      id: c.id,
      label: `${c.summary?.method ?? ''} ${c.id.slice(0, 19)}`,
      points: c.view!.series.steps,
    }));
  const copy = (dir: string) => {
    void navigator.clipboard?.writeText(dir).then(
      () => setCopied(dir),
      () => setCopied(dir),
    );
    setCopied(dir);
  };
  return (
    <div className="screen">
      <h2>Runs</h2>
      {r.error && <ErrorNote error={r.error} />}
      {r.list.length === 0 ? (
        <EmptyState title="No runs yet.">Runs you start appear here, with their charts.</EmptyState>
      ) : (
        <table className="runs">
          <thead>
            <tr>
              <th scope="col">Compare</th>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Method</th>
              <th scope="col">Model</th>
              <th scope="col">Steps</th>
              <th scope="col">Final loss</th>
              <th scope="col">Peak memory</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {r.list.map((run) => (
              <tr key={run.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Compare ${run.id}`}
                    checked={r.compare.includes(run.id)}
                    onChange={() => r.toggleCompare(run.id)}
                  />
                </td>
                <td className="mono">{run.id}</td>
                <td>
                  <span className={`status status-${run.status}`}>{run.status}</span>
                </td>
                <td>{methodLabel(run.method, run.peft)}</td>
                <td title={run.model}>{base(run.model)}</td>
                <td>
                  {run.step}
                  {run.maxSteps !== undefined && ` / ${run.maxSteps}`}
                </td>
                <td>{formatLoss(run.lastLoss)}</td>
                <td>{run.peakBytes !== undefined ? formatBytes(run.peakBytes) : '—'}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    onClick={() => {
                      r.show(run.id);
                      go('run');
                    }}
                  >
                    Open
                  </button>
                  {(run.status === 'cancelled' || run.status === 'failed') &&
                    run.checkpointStep !== undefined && (
                      <button
                        type="button"
                        onClick={() => {
                          r.show(run.id);
                          void r.resume(run.id).then(() => go('run'));
                        }}
                      >
                        Resume
                      </button>
                    )}
                  {desktop && (
                    <button type="button" onClick={() => void r.openFolder(run.id)}>
                      Open folder
                    </button>
                  )}
                  <button type="button" title={run.dir} onClick={() => copy(run.dir)}>
                    {copied === run.dir ? 'Path copied' : 'Copy folder path'}
                  </button>
                  {run.error && <span className="hint">{run.error.message}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {compared.length > 0 ? (
        <CompareChart runs={compared} smoothing={r.smoothing} logScale={r.logScale} />
      ) : (
        r.list.length > 1 && <p className="hint">Tick two or more runs to compare their losses.</p>
      )}
      <SweepPanel />
    </div>
  );
}
