// What the engine understood of a dataset: format and confidence, rendered rows with the
// loss-masked spans highlighted, token-length statistics, and problems grouped with their lines.
import type { InspectReport } from '../../../engine/data/inspect.js';

function Preview({ report }: { report: InspectReport }) {
  if (report.preview.length === 0) return <p className="hint">No valid rows to show.</p>;
  return (
    <section>
      <h3>Rendered examples</h3>
      <p className="hint">
        <mark className="train">Highlighted</mark> text is what the loss is computed on; the rest is
        context.
      </p>
      {report.preview.map((row) => (
        <figure key={row.line} className="example" data-testid="preview-row">
          <figcaption>line {row.line}</figcaption>
          <pre>
            {row.segments.map((s, i) =>
              s.train ? (
                <mark key={i} className="train">
                  {s.text}
                </mark>
              ) : (
                <span key={i}>{s.text}</span>
              ),
            )}
          </pre>
        </figure>
      ))}
    </section>
  );
}

function Lengths({ report }: { report: InspectReport }) {
  const t = report.tokens;
  if (!t) return <p className="hint">Choose a model to see token lengths.</p>;
  return (
    <section>
      <h3>Token lengths (sequence {t.seqLen})</h3>
      <dl className="facts inline" data-testid="token-stats">
        <dt>min</dt>
        <dd>{t.min}</dd>
        <dt>median</dt>
        <dd>{t.median}</dd>
        <dt>mean</dt>
        <dd>{t.mean.toFixed(1)}</dd>
        <dt>p95</dt>
        <dd>{t.p95}</dd>
        <dt>max</dt>
        <dd>{t.max}</dd>
        <dt>over length</dt>
        <dd>{t.overLength}</dd>
        <dt>target tokens</dt>
        <dd>{t.targetTokens}</dd>
      </dl>
    </section>
  );
}

function Problems({ report }: { report: InspectReport }) {
  const p = report.problems;
  if (p.total === 0) return <p className="ok-note">No problems found.</p>;
  const file = report.file.split(/[\\/]/).pop();
  return (
    <section>
      <h3>
        {p.total} problem{p.total === 1 ? '' : 's'} (those rows are left out)
      </h3>
      <ul className="problems">
        {p.groups.map((g, i) => (
          <li key={i}>
            <strong>{g.count}×</strong> {g.field && <code>{g.field}</code>} {g.message}
            <span className="hint">
              {' '}
              — {file}, line{g.lines.length === 1 ? '' : 's'} {g.lines.join(', ')}
              {g.count > g.lines.length ? ', …' : ''}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** What the figures cover: the whole file, or its first rows when the preview stopped early. */
export function coverage(report: Pick<InspectReport, 'rows' | 'partial'>): string {
  return report.partial
    ? `Format, statistics and problems cover the first ${report.rows.toLocaleString('en')} rows; the file has more, and training reads all of them.`
    : `All ${report.rows.toLocaleString('en')} rows of the file were read.`;
}

export function DatasetReport({ report }: { report: InspectReport }) {
  return (
    <div className="report">
      <p className="detected" data-testid="detected-format">
        <strong>{report.format}</strong>
        {report.task && <> · template {report.task}</>} · {Math.round(report.confidence * 100)}%
        confidence · {report.validRows} of {report.rows}
        {report.partial ? ' (first)' : ''} rows valid · {report.fileType}
      </p>
      <p className="hint" data-testid="coverage">
        {coverage(report)}
      </p>
      <Preview report={report} />
      <Lengths report={report} />
      <Problems report={report} />
    </div>
  );
}
