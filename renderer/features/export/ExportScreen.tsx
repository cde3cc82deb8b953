// Export: a run's newest checkpoint merged into its base model, written as a Hugging Face folder
// or as a GGUF file for llama.cpp and Ollama (the run's exports/ folder, a folder inside it, or a
// folder picked on the desktop), with its progress and then the path written.
import { useEffect } from 'react';
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { PathField } from '../../components/PathField.js';
import { useRuns } from '../runs/runs-store.js';
import { formatBytes } from '../../lib/format.js';
import { methodLabel } from '../methods/adapters.js';
import { ggufQuantLabels, progressFraction, useExport, type GgufQuant } from './export-store.js';

const desktop = window.whetstone !== undefined;

export function ExportScreen() {
  const x = useExport();
  const runs = useRuns();
  useEffect(() => void useRuns.getState().refresh(), []);
  const exportable = runs.list.filter(
    (r) => r.checkpointStep !== undefined && r.status !== 'running' && r.status !== 'starting',
  );
  useEffect(() => {
    const s = useExport.getState();
    const current = useRuns.getState().current;
    if (!s.runId && current) s.choose(current);
  }, []);
  const chosen = exportable.find((r) => r.id === x.runId);
  const fraction = progressFraction(x.progress);
  const adapterRun = chosen?.peft !== undefined && chosen.peft !== 'full';
  const format = adapterRun || x.format === 'gguf' ? x.format : 'merged';
  const p = x.progress;
  return (
    <div className="screen">
      <h2>Export</h2>
      {exportable.length === 0 ? (
        <EmptyState title="Nothing to export yet.">
          A run can be exported once it has a checkpoint and is not training (finish or cancel it).
        </EmptyState>
      ) : (
        <>
          <label className="block">
            Run
            <select value={x.runId ?? ''} onChange={(e) => x.choose(e.target.value)}>
              <option value="" disabled>
                Choose a run…
              </option>
              {exportable.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.id} — {methodLabel(r.method, r.peft)}, step {r.checkpointStep}, {r.status}
                </option>
              ))}
            </select>
          </label>
          <fieldset className="formats">
            <legend>Format</legend>
            <label className="check">
              <input
                type="radio"
                name="format"
                checked={x.format === 'merged'}
                onChange={() => x.setFormat('merged')}
              />
              Merged weights (Hugging Face folder: config, tokenizer, model.safetensors)
            </label>
            <label className="check">
              <input
                type="radio"
                name="format"
                checked={x.format === 'gguf'}
                onChange={() => x.setFormat('gguf')}
              />
              GGUF for llama.cpp and Ollama (merged weights in one file, with a Modelfile)
            </label>
            {format === 'gguf' && (
              <label className="block">
                Quantization
                <select
                  value={x.quant}
                  onChange={(e) => x.setQuant(e.target.value as GgufQuant)}
                  aria-label="GGUF quantization"
                >
                  {Object.entries(ggufQuantLabels).map(([q, label]) => (
                    <option key={q} value={q}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label className={`check${adapterRun ? '' : ' disabled'}`}>
              <input
                type="radio"
                name="format"
                disabled={!adapterRun}
                checked={x.format === 'adapter'}
                onChange={() => x.setFormat('adapter')}
              />
              {adapterRun
                ? 'Adapter only (PEFT folder: adapter_config.json, adapter_model.safetensors)'
                : 'Adapter (PEFT) — for runs that trained an adapter (LoRA, QLoRA, …)'}
            </label>
          </fieldset>
          <PathField
            // Cleared with "Use the run’s folder": the typed text goes too.
            key={x.destination === '' ? 'run-folder' : 'typed'}
            label={
              desktop
                ? 'Destination (empty: the run’s exports/ folder; or choose a folder)'
                : 'Destination (empty: the run’s exports/ folder; a typed one must be inside it)'
            }
            placeholder={
              chosen ? `${chosen.dir}/exports/${format}-step-${chosen.checkpointStep}` : ''
            }
            action="Set"
            onOpen={(p) => x.setDestination(p)}
          />
          {desktop && chosen && (
            <button
              type="button"
              onClick={() =>
                void x.pickFolder(`${chosen.id}-${format}-step-${chosen.checkpointStep}`)
              }
            >
              Choose a folder…
            </button>
          )}
          {x.destination !== '' && (
            <p className="hint">
              Writing to <span className="mono">{x.destination}</span>{' '}
              <button type="button" onClick={() => x.setDestination('')}>
                Use the run’s folder
              </button>
            </p>
          )}
          <div className="actions">
            <button
              type="button"
              className="primary"
              disabled={!chosen || x.busy}
              onClick={() => void x.exportRun()}
            >
              {format === 'adapter'
                ? 'Export the adapter'
                : format === 'gguf'
                  ? `Export GGUF (${x.quant.toUpperCase()})`
                  : 'Export merged weights'}
            </button>
            {x.busy && (
              <span className="progress" role="status" data-testid="export-progress">
                <progress
                  max={1}
                  {...(fraction !== undefined && { value: fraction })}
                  aria-label="Export progress"
                />
                {p?.phase === 'write' && p.total !== undefined
                  ? `Writing the weights: ${formatBytes(p.done)} of ${formatBytes(p.total)}`
                  : p?.phase === 'load' && p.total !== undefined
                    ? `Loading step ${chosen?.checkpointStep}: tensor ${p.done} of ${p.total}`
                    : `Starting the export of step ${chosen?.checkpointStep}…`}
              </span>
            )}
          </div>
          {x.error && <ErrorNote error={x.error} />}
          {x.result && (
            <section className="card ok" data-testid="export-result">
              <h3>
                Exported step {x.result.step}{' '}
                {x.result.format === 'adapter'
                  ? '(adapter)'
                  : x.result.format === 'gguf'
                    ? `(GGUF ${x.result.quant?.toUpperCase() ?? ''})`
                    : '(merged weights)'}
              </h3>
              <p className="mono path">{x.result.out}</p>
              <p className="hint">{x.result.files.join(' · ')}</p>
            </section>
          )}
        </>
      )}
    </div>
  );
}
