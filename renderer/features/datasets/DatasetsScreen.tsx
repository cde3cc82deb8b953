// Datasets: drop or choose a file, or use a sample; then see what Whetstone will train on.
import { useEffect } from 'react';
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { PathField } from '../../components/PathField.js';
import { useNav } from '../../lib/nav-store.js';
import { useModels } from '../models/models-store.js';
import { DataChoicesForm } from './DataChoicesForm.js';
import { DatasetReport } from './DatasetReport.js';
import { DropZone } from './DropZone.js';
import { useDatasets } from './datasets-store.js';

export function DatasetsScreen() {
  const d = useDatasets();
  const model = useModels((s) => s.path);
  const go = useNav((s) => s.go);
  useEffect(() => void useDatasets.getState().loadSamples(), []);
  // Token statistics and chat rendering need the model's tokenizer.
  useEffect(() => {
    if (model && useDatasets.getState().path) void useDatasets.getState().inspect(model);
  }, [model]);
  return (
    <div className="screen two-col">
      <div>
        <h2>Data</h2>
        <DropZone busy={d.loading} onFile={(f) => void d.addFile(f, model)} />
        <PathField
          label="Or a file’s path"
          placeholder="/path/to/data.jsonl"
          busy={d.loading}
          onOpen={(p) => void d.open(p, model)}
        />
        {d.samples.length > 0 && (
          <section>
            <h3>Samples</h3>
            <ul className="pick-list">
              {d.samples.map((s) => (
                <li key={s.path}>
                  <button
                    type="button"
                    aria-pressed={s.path === d.path}
                    className={s.path === d.path ? 'selected' : ''}
                    onClick={() => void d.open(s.path, model)}
                  >
                    <span className="pick-name">{s.name}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
        {d.path && (
          <DataChoicesForm
            report={d.report}
            choices={d.choices}
            onApply={(c) => void d.setChoices(c, model)}
          />
        )}
      </div>
      <div>
        {d.error && <ErrorNote error={d.error} />}
        {d.loading && <p aria-live="polite">Reading the dataset…</p>}
        {!d.report && !d.loading && !d.error && (
          <EmptyState title="No dataset yet.">
            Drop a file on the left, type its path, or start with a sample.
          </EmptyState>
        )}
        {d.report && (
          <>
            <p className="path">{d.path}</p>
            <DatasetReport report={d.report} />
            <button type="button" className="primary" onClick={() => go('methods')}>
              Next: method
            </button>
          </>
        )}
      </div>
    </div>
  );
}
