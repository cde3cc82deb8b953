// A comparison on the Runs screen: progress across its grid while it runs, then the papers'
// tables (rows methods, columns schemes), one chart of every cell's loss, and the tables as
// CSV or markdown.
import { useEffect } from 'react';
import { tableText, toCsv, toMarkdown, type SweepTable } from '../../../common/sweep-table.js';
import type { SweepReport } from '../../../main/contract.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { CompareChart } from '../runs/CompareChart.js';
import { useRuns } from '../runs/runs-store.js';
import { useSweeps } from './sweeps-store.js';

/** Save `text` as a file through the browser's download (the desktop app's page too). */
function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export function SweepPanel() {
  const s = useSweeps();
  const r = useRuns();
  useEffect(() => {
    void useSweeps
      .getState()
      .refresh()
      .then(() => {
        const { list, shown } = useSweeps.getState();
        if (!shown && list[0]) void useSweeps.getState().show(list[0].id);
      });
  }, []);
  // Each cell that starts or ends is a run of the history above: keep it current.
  const started = s.shown?.cells.filter((c) => c.runId).length;
  useEffect(() => {
    if (started !== undefined) void useRuns.getState().refresh();
  }, [started, s.shown?.done]);
  if (s.list.length === 0 && !s.shown) return null;
  return (
    <section className="sweep" aria-label="Method comparison">
      <h3>Method comparisons</h3>
      {s.error && <ErrorNote error={s.error} />}
      {s.list.length > 1 && (
        <label>
          Comparison{' '}
          <select value={s.shown?.id} onChange={(e) => void s.show(e.target.value)}>
            {s.list.map((w) => (
              <option key={w.id} value={w.id}>
                {w.id} ({w.status})
              </option>
            ))}
          </select>
        </label>
      )}
      {s.shown && (
        <SweepView
          report={s.shown}
          smoothing={r.smoothing}
          logScale={r.logScale}
          onCancel={() => void s.cancel(s.shown!.id)}
        />
      )}
    </section>
  );
}

function SweepView(props: {
  report: SweepReport;
  smoothing: number;
  logScale: boolean;
  onCancel: () => void;
}) {
  const w = props.report;
  const running = w.status === 'running';
  const curves = w.records
    .filter((c) => c.losses.length > 0)
    .map((c) => ({
      id: c.key,
      label: c.key,
      points: c.losses.map(([step, loss]) => ({ step, loss })),
    }));
  const stamp = w.id.replace(/-sweep$/, '');
  return (
    <div data-testid="sweep" data-status={w.status}>
      <p>
        <span className={`status status-${w.status}`}>{w.status}</span>{' '}
        <progress max={w.total} value={w.done} aria-label="Comparison progress" />{' '}
        <span data-testid="sweep-progress">
          {w.done} / {w.total} runs
        </span>
        {w.current && running && <span className="hint"> · training {w.current}</span>}
        {running && (
          <button type="button" onClick={props.onCancel}>
            Stop comparison
          </button>
        )}
      </p>
      {w.tables.tables.map((t) => (
        <ResultTable key={t.title} table={t} />
      ))}
      {!running && (
        <p className="row-actions">
          <button
            type="button"
            onClick={() => download(`comparison-${stamp}.csv`, toCsv(w.tables), 'text/csv')}
          >
            Export CSV
          </button>
          <button
            type="button"
            onClick={() =>
              download(`comparison-${stamp}.md`, toMarkdown(w.tables), 'text/markdown')
            }
          >
            Export markdown
          </button>
        </p>
      )}
      {curves.length > 0 && (
        <CompareChart runs={curves} smoothing={props.smoothing} logScale={props.logScale} />
      )}
    </div>
  );
}

function ResultTable({ table }: { table: SweepTable }) {
  const [head, ...rows] = tableText(table);
  return (
    <table className="runs sweep-table">
      <caption>{table.title}</caption>
      <thead>
        <tr>
          {head!.map((h) => (
            <th key={h} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row[0]}>
            <th scope="row">{row[0]}</th>
            {row.slice(1).map((cell, i) => (
              <td key={i}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
