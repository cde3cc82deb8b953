// Method: a card per method the engine trains with, its settings, the memory estimate against
// this machine, and Start.
import { useEffect } from 'react';
import { DEFAULT_LR } from '../../../common/defaults.js';
import { EmptyState } from '../../components/EmptyState.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useNav } from '../../lib/nav-store.js';
import { useDatasets } from '../datasets/datasets-store.js';
import { useModels } from '../models/models-store.js';
import { useRuns } from '../runs/runs-store.js';
import { CompareMethods } from '../sweeps/CompareMethods.js';
import { AdapterPicker } from './AdapterPicker.js';
import { estimateKey } from './adapters.js';
import { formatLr, methodCards } from './catalog.js';
import { judgeFit } from './fit.js';
import { MemoryFit } from './MemoryFit.js';
import { buildStartSpec, useMethods } from './methods-store.js';
import { SettingsForm } from './SettingsForm.js';
import { StartButton } from './StartButton.js';
import { ClustersPanel } from '../clusters/ClustersPanel.js';
import { useClusters } from '../clusters/clusters-store.js';

export function MethodsScreen() {
  const m = useMethods();
  const model = useModels((s) => s.path);
  const data = useDatasets((s) => s.path);
  const choices = useDatasets((s) => s.choices);
  const runs = useRuns();
  const go = useNav((s) => s.go);
  useEffect(() => void useMethods.getState().loadSystem(), []);
  const { method, settings } = m;
  const adapterKey = estimateKey(m.peft, m.adapter);
  // The engine refuses a run that cannot fit; Start says so instead of starting one.
  const refusal =
    m.estimate && m.system
      ? judgeFit(m.estimate.estimate, m.system, { method, ...settings }, m.estimate.fit).refusal
      : undefined;
  useEffect(() => {
    if (model) void useMethods.getState().runEstimate(model);
  }, [model, method, settings.batch, settings.seq, settings.recompute, adapterKey]);

  const clusters = useClusters();
  const start = async () => {
    if (!model || !data) return;
    const id = await runs.start(buildStartSpec(m, model, data, choices));
    if (id) go('run');
  };
  const submit = async () => {
    if (!model || !data || !clusters.chosen) return;
    const id = await runs.submit(buildStartSpec(m, model, data, choices), clusters.chosen);
    if (id) go('run');
  };

  return (
    <div className="screen">
      <h2>Method</h2>
      <div className="cards" role="radiogroup" aria-label="Training method">
        {methodCards.map((c) => (
          <button
            key={c.name}
            type="button"
            role="radio"
            aria-checked={c.name === method}
            className={`method-card${c.name === method ? ' selected' : ''}`}
            onClick={() => m.choose(c.name)}
          >
            <span className="card-family">{c.family}</span>
            <span className="card-title">{c.title}</span>
            <span className="card-text">{c.tradeoff}</span>
            <span className="card-defaults">
              lr {formatLr(DEFAULT_LR[c.name])} · {c.paper}
            </span>
          </button>
        ))}
      </div>
      <SettingsForm method={method} settings={settings} set={m.set} />
      <AdapterPicker peft={m.peft} adapter={m.adapter} choose={m.choosePeft} set={m.setAdapter} />
      {m.error && <ErrorNote error={m.error} />}
      {!model && (
        <EmptyState title="Choose a model first.">The estimate needs its shapes.</EmptyState>
      )}
      {/* The verdict and Start stay in view below the cards at 1280×800. */}
      <div className="start-bar">
        {m.estimating && <p aria-live="polite">Estimating memory…</p>}
        {m.estimate && m.system && (
          <MemoryFit estimate={m.estimate} system={m.system} settings={{ method, ...settings }} />
        )}
        {runs.error && <ErrorNote error={runs.error} />}
        <StartButton
          model={model}
          data={data}
          refusal={refusal}
          onStart={() => void start()}
          clusters={clusters.list.map((p) => p.name)}
          cluster={clusters.chosen}
          onChooseCluster={clusters.choose}
          onSubmit={() => void submit()}
        />
      </div>
      <CompareMethods
        model={model}
        data={data}
        choices={choices}
        batch={settings.batch}
        seq={settings.seq}
        onStarted={() => go('runs')}
      />
      <ClustersPanel />
    </div>
  );
}
