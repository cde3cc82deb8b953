// Models: open a folder (typed path, or the dialog on the desktop), or pick an example, a recent
// model or a Hugging Face cache entry; shows what the engine read, or why it refused the folder.
import { useEffect } from 'react';
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { PathField } from '../../components/PathField.js';
import { formatBytes, formatCount } from '../../lib/format.js';
import { useNav } from '../../lib/nav-store.js';
import { exampleRecipe, FirstStart } from './FirstStart.js';
import { useModels } from './models-store.js';
import type { ModelEntry } from '../../../main/contract.js';

const desktop = window.whetstone !== undefined;

function ModelList(props: {
  title: string;
  entries: { name: string; path: string }[];
  detail?: (e: ModelEntry) => string;
}) {
  const { select, path } = useModels();
  if (props.entries.length === 0) return null;
  return (
    <section>
      <h3>{props.title}</h3>
      <ul className="pick-list">
        {props.entries.map((e) => (
          <li key={e.path}>
            <button
              type="button"
              className={e.path === path ? 'selected' : ''}
              aria-pressed={e.path === path}
              onClick={() => void select(e.path)}
              title={e.path}
            >
              <span className="pick-name">{e.name}</span>
              <span className="pick-path">{e.path}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ModelsScreen() {
  const m = useModels();
  const go = useNav((s) => s.go);
  useEffect(() => void useModels.getState().load(), []);
  const nothing = m.examples.length + m.recent.length + m.hfCache.length === 0;
  // The first start's recipe is for the decoder example (the masked one needs other data).
  const firstStart = m.examples.find((e) => e.name === exampleRecipe.model);
  return (
    <div className="screen two-col">
      <div>
        <h2>Model</h2>
        <p className="lead">
          A Hugging Face folder: config.json, safetensors weights, tokenizer.json.
        </p>
        {firstStart && !m.path && <FirstStart model={firstStart} />}
        <PathField
          label="Model folder"
          placeholder="/path/to/model (holds config.json)"
          busy={m.loading}
          onOpen={(p) => void m.open(p)}
        />
        {desktop && (
          <button type="button" onClick={() => void m.pick()}>
            Choose a folder…
          </button>
        )}
        {m.listError && <ErrorNote error={m.listError} />}
        <ModelList title="Examples" entries={m.examples} />
        <ModelList title="Recent" entries={m.recent} />
        <ModelList title="Hugging Face cache" entries={m.hfCache} />
        {nothing && !m.listError && (
          <EmptyState title="No models found yet.">
            Type a model folder’s path above. Models you open appear here next time, and so do those
            in the Hugging Face cache (~/.cache/huggingface/hub).
          </EmptyState>
        )}
      </div>
      <div>
        {m.loading && <p aria-live="polite">Reading the model…</p>}
        {m.error && <ErrorNote error={m.error} />}
        {!m.info && !m.loading && !m.error && (
          <EmptyState title="No model chosen.">
            Pick one on the left to see what it holds.
          </EmptyState>
        )}
        {m.info && m.path && (
          <section className="card" aria-label="Model details">
            <h3>{m.path.split(/[\\/]/).pop()}</h3>
            <dl className="facts">
              <dt>Architecture</dt>
              <dd>
                {m.info.modelType} ({m.info.family}), {m.info.layers} layers × {m.info.hidden} wide
              </dd>
              <dt>Parameters</dt>
              <dd data-testid="model-parameters">{formatCount(m.info.parameters)}</dd>
              <dt>Stored as</dt>
              <dd>{m.info.storedDtypes.join(', ')} (trained in float32)</dd>
              <dt>Context</dt>
              <dd>{m.info.contextLength} tokens</dd>
              <dt>Vocabulary</dt>
              <dd>{m.info.vocab}</dd>
              <dt>On disk</dt>
              <dd>{formatBytes(m.info.diskBytes)}</dd>
              <dt>Chat template</dt>
              <dd>
                {'chatTemplate' in m.info.tokenizer && m.info.tokenizer.chatTemplate ? 'yes' : 'no'}
              </dd>
            </dl>
            <p className="path">{m.path}</p>
            <button type="button" className="primary" onClick={() => go('datasets')}>
              Next: data
            </button>
          </section>
        )}
      </div>
    </div>
  );
}
