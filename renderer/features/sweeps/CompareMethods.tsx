// "Compare methods" on the Method screen: the grid as checkboxes (methods × schemes), seeds, and
// the template ablation that doubles it; Start runs every cell, one run at a time, in main.
import { methodNames, peftKinds } from '../../../common/methods.js';
import { notApplicable, ZO_STEP_FACTOR } from '../../../common/sweep-grid.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import type { DataChoices } from '../datasets/datasets-store.js';
import { methodCards } from '../methods/catalog.js';
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
  const start = async () => {
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
      <fieldset>
        <legend>Methods</legend>
        {methodNames.map((m) => (
          <label key={m} className="check">
            <input
              type="checkbox"
              checked={grid.methods.includes(m)}
              onChange={() => s.toggle('methods', m)}
            />
            {titles[m] ?? m}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Schemes</legend>
        {peftKinds.map((k) => (
          <label key={k} className="check">
            <input
              type="checkbox"
              checked={grid.schemes.includes(k)}
              onChange={() => s.toggle('schemes', k)}
            />
            {k === 'full' ? 'full (every weight)' : k}
          </label>
        ))}
      </fieldset>
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
      {na > 0 && (
        <p className="hint">
          {na} method × scheme {na === 1 ? 'pair' : 'pairs'} cannot train (LOMO and AdaLomo with
          prefix or prompt tuning) and {na === 1 ? 'is' : 'are'} left out.
        </p>
      )}
    </details>
  );
}
