// "Compare methods" on the Method screen: the grid as checkboxes (methods × schemes), seeds, and
// the template ablation that doubles it; Start runs every cell, one run at a time, in main, or
// sends the grid to the chosen cluster profile as one Slurm job array.
import { methodNames, peftKinds } from '../../../common/methods.js';
import { notApplicable, ZO_STEP_FACTOR } from '../../../common/sweep-grid.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import type { DataChoices } from '../datasets/datasets-store.js';
import { methodCards } from '../methods/catalog.js';
import { useClusters } from '../clusters/clusters-store.js';
import { gridSize, useSweeps } from './sweeps-store.js';

const titles = Object.fromEntries(methodCards.map((c) => [c.name, c.title]));

export function CompareMethods(props: {
  model?: string;
  data?: string;
  choices: DataChoices;
  batch: number;
  seq?: number;
  onStarted: () => void;
}) {
  const s = useSweeps();
  const { grid } = s;
  const na = grid.methods.flatMap((m) => grid.schemes.filter((k) => notApplicable(m, k))).length;
  const cells = gridSize(grid, na);
  const clusters = useClusters();
  const start = async (cluster?: string) => {
    if (!props.model || !props.data) return;
    const { format, columns, template } = props.choices;
    const id = await s.start({
      model: props.model,
      data: props.data,
      batch: props.batch,
      ...(props.seq !== undefined && { seq: props.seq }),
      dataset: {
        ...(format && { format }),
        ...(columns && { columns }),
        ...(template && { template }),
      },
      ...(cluster && { cluster }),
    });
    if (id) props.onStarted();
  };
  return (
    <details className="compare-methods">
      <summary>Compare methods</summary>
      <p className="hint">
        Trains every ticked method with every ticked scheme, one run at a time, and tabulates
        held-out accuracy (or loss), peak memory and step time as the papers do.
      </p>
      <CheckList
        legend="Methods"
        names={methodNames}
        label={(m) => titles[m] ?? m}
        ticked={grid.methods}
        toggle={(m) => s.toggle('methods', m)}
      />
      <CheckList
        legend="Schemes"
        names={peftKinds}
        label={(k) => (k === 'full' ? 'full (every weight)' : k)}
        ticked={grid.schemes}
        toggle={(k) => s.toggle('schemes', k)}
      />
      <div className="compare-options">
        <label>
          Steps{' '}
          <input
            type="number"
            aria-label="Comparison steps"
            min={1}
            value={grid.foSteps}
            onChange={(e) =>
              s.setGrid({ foSteps: Math.max(1, Math.round(Number(e.target.value))) })
            }
          />
          <span className="hint">
            {' '}
            per backprop run; zeroth-order and forward-grad ×{ZO_STEP_FACTOR}
          </span>
        </label>
        <label>
          Seeds{' '}
          <input
            type="number"
            aria-label="Comparison seeds"
            min={1}
            max={20}
            value={grid.seeds}
            onChange={(e) => s.setGrid({ seeds: Math.max(1, Math.round(Number(e.target.value))) })}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={grid.ablateTemplate}
            onChange={(e) => s.setGrid({ ablateTemplate: e.target.checked })}
          />
          Templates on and off (doubles the grid)
        </label>
      </div>
      {s.error && <ErrorNote error={s.error} />}
      <button
        type="button"
        disabled={!props.model || !props.data || cells === 0}
        onClick={() => void start()}
      >
        Start comparison ({cells} {cells === 1 ? 'run' : 'runs'})
      </button>
      {clusters.chosen && (
        <button
          type="button"
          disabled={!props.model || !props.data || cells === 0}
          onClick={() => void start(clusters.chosen)}
        >
          On cluster {clusters.chosen} (one job array)
        </button>
      )}
      {na > 0 && (
        <p className="hint">
          {na} method × scheme {na === 1 ? 'pair' : 'pairs'} cannot train (LOMO and AdaLomo with
          prefix or prompt tuning) and {na === 1 ? 'is' : 'are'} left out.
        </p>
      )}
    </details>
  );
}

/** One axis of the grid as a row of checkboxes. */
function CheckList<T extends string>(props: {
  legend: string;
  names: readonly T[];
  label: (name: T) => string;
  ticked: readonly T[];
  toggle: (name: T) => void;
}) {
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.names.map((name) => (
        <label key={name} className="check">
          <input
            type="checkbox"
            checked={props.ticked.includes(name)}
            onChange={() => props.toggle(name)}
          />
          {props.label(name)}
        </label>
      ))}
    </fieldset>
  );
}
