// Playground: one prompt, the base model and the tuned one side by side (greedy decoding, so
// the difference is the training's). The tuned side is a run's newest checkpoint.
import { useEffect } from 'react';
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useModels } from '../models/models-store.js';
import { useRuns } from '../runs/runs-store.js';
import { usePlayground, type Side } from './playground-store.js';

function Output(props: { title: string; side: Side; testId: string }) {
  const { side } = props;
  return (
    <section className="card output" data-testid={props.testId}>
      <h3>{props.title}</h3>
      <p className="path">
        {side.run ? `run ${side.run.id}, step ${side.run.step}` : (side.model ?? 'no model')}
      </p>
      {side.busy && <p aria-live="polite">Generating…</p>}
      {side.error && <ErrorNote error={side.error} />}
      {side.result && (
        <>
          <pre className="generation">{side.result.text}</pre>
          <p className="hint">
            {side.result.newTokens} tokens · {side.result.tokensPerSecond.toFixed(0)} tokens/s
          </p>
        </>
      )}
    </section>
  );
}

export function PlaygroundScreen() {
  const p = usePlayground();
  const runs = useRuns();
  const model = useModels((s) => s.path);
  useEffect(() => {
    void useRuns.getState().refresh();
    const s = usePlayground.getState();
    if (!s.base.model && model) s.setModel('base', model);
  }, [model]);
  const tunable = runs.list.filter(
    (r) => r.checkpointStep !== undefined && r.status !== 'running' && r.status !== 'starting',
  );
  return (
    <div className="screen">
      <h2>Playground</h2>
      {tunable.length === 0 && !p.tuned.run && (
        <EmptyState title="No tuned model yet.">
          Finish or cancel a run; its newest checkpoint becomes the tuned side.
        </EmptyState>
      )}
      {tunable.length > 0 && (
        <label className="block">
          Tuned model from run
          <select
            value={p.tuned.run?.id ?? ''}
            onChange={(e) => {
              const run = tunable.find((r) => r.id === e.target.value);
              if (run?.model !== undefined && run.checkpointStep !== undefined) {
                p.useRun({ id: run.id, model: run.model, checkpointStep: run.checkpointStep });
              }
            }}
          >
            <option value="">{p.tuned.run ? 'Choose another run…' : 'Choose a run…'}</option>
            {tunable.map((r) => (
              <option key={r.id} value={r.id}>
                {r.id} — {r.method}, step {r.checkpointStep}
              </option>
            ))}
          </select>
        </label>
      )}
      <form
        className="prompt"
        onSubmit={(e) => {
          e.preventDefault();
          void p.generate();
        }}
      >
        <label className="block">
          Prompt
          <textarea rows={3} value={p.prompt} onChange={(e) => p.setPrompt(e.target.value)} />
        </label>
        <label>
          New tokens
          <input
            type="number"
            min={1}
            max={512}
            value={p.maxNewTokens}
            onChange={(e) =>
              Number.isFinite(e.target.valueAsNumber) && p.setMaxNewTokens(e.target.valueAsNumber)
            }
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={p.chat} onChange={(e) => p.setChat(e.target.checked)} />
          As a chat turn
        </label>
        <button type="submit" className="primary" disabled={!p.base.model && !p.tuned.model}>
          Generate both
        </button>
      </form>
      <div className="sides">
        <Output title="Base" side={p.base} testId="output-base" />
        <Output title="Tuned" side={p.tuned} testId="output-tuned" />
      </div>
    </div>
  );
}
