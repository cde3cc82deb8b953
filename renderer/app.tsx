// The studio shell: a navigation rail of the steps (model → data → method → run) and the tools
// (runs, playground, export), the chosen screen beside it, and what the engine found on this
// machine at the foot of the rail.
import { useEffect } from 'react';
import { DatasetsScreen } from './features/datasets/DatasetsScreen.js';
import { useDatasets } from './features/datasets/datasets-store.js';
import { ExportScreen } from './features/export/ExportScreen.js';
import { MethodsScreen } from './features/methods/MethodsScreen.js';
import { methodLabel } from './features/methods/adapters.js';
import { useMethods } from './features/methods/methods-store.js';
import { ModelsScreen } from './features/models/ModelsScreen.js';
import { useModels } from './features/models/models-store.js';
import { PlaygroundScreen } from './features/playground/PlaygroundScreen.js';
import { RunScreen } from './features/runs/RunScreen.js';
import { RunsScreen } from './features/runs/RunsScreen.js';
import { useRuns } from './features/runs/runs-store.js';
import { ErrorNote } from './components/ErrorNote.js';
import { screens, useNav, type ScreenId } from './lib/nav-store.js';
import { formatBytes } from './lib/format.js';
import './styles.css';

const views: Record<ScreenId, () => React.JSX.Element> = {
  models: ModelsScreen,
  datasets: DatasetsScreen,
  methods: MethodsScreen,
  run: RunScreen,
  runs: RunsScreen,
  playground: PlaygroundScreen,
  export: ExportScreen,
};

/** What each step has chosen, shown under its name in the rail. */
function useStepNotes(): Partial<Record<ScreenId, string>> {
  const model = useModels((s) => s.path);
  const data = useDatasets((s) => s.path);
  const method = useMethods((s) => s.method);
  const peft = useMethods((s) => s.peft);
  const current = useRuns((s) => s.current);
  const status = useRuns((s) => (current ? s.views[current]?.status : undefined));
  const name = (p?: string) => p?.split(/[\\/]/).pop();
  return {
    ...(model && { models: name(model) }),
    ...(data && { datasets: name(data) }),
    methods: methodLabel(method, peft),
    ...(status && { run: status }),
  };
}

function SystemFoot() {
  const { system, error } = useMethods();
  useEffect(() => void useMethods.getState().loadSystem(), []);
  if (error) return <ErrorNote error={error} />;
  if (!system) return <p className="hint">Checking this machine…</p>;
  return (
    <p className="hint system" data-testid="system-info">
      {system.backend} · {system.device}
      <br />
      {system.deviceMemory.totalBytes !== undefined
        ? `${formatBytes(system.deviceMemory.freeBytes ?? 0)} free of ${formatBytes(system.deviceMemory.totalBytes)}`
        : `host ${formatBytes(system.hostMemory.freeBytes)} free`}
    </p>
  );
}

export function App() {
  const { screen, go } = useNav();
  const notes = useStepNotes();
  const View = views[screen];
  return (
    <div className="app">
      <nav className="rail" aria-label="Studio">
        <h1>Whetstone</h1>
        <ol>
          {screens.map((s) => (
            <li key={s.id}>
              <button
                type="button"
                aria-current={s.id === screen ? 'page' : undefined}
                onClick={() => go(s.id)}
              >
                <span>{s.label}</span>
                {notes[s.id] && <span className="note">{notes[s.id]}</span>}
              </button>
            </li>
          ))}
        </ol>
        <SystemFoot />
      </nav>
      <main className="content">
        <View />
      </main>
    </div>
  );
}
