// A method's settings: the common ones shown, the rest folded under "Advanced".
import type { ReactNode } from 'react';
import { isZerothOrder } from '../../../common/methods.js';
import type { MethodName } from './catalog.js';
import type { Settings } from './methods-store.js';

export function NumberField(props: {
  label: string;
  value: number;
  step?: string;
  min?: number;
  onChange: (v: number) => void;
}) {
  return (
    <label>
      {props.label}
      <input
        type="number"
        value={props.value}
        step={props.step ?? 'any'}
        {...(props.min !== undefined && { min: props.min })}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (Number.isFinite(v)) props.onChange(v);
        }}
      />
    </label>
  );
}

/** A number that may be left empty: the engine's default then (named in the placeholder). */
export function OptionalNumberField(props: {
  label: string;
  value: number | undefined;
  placeholder: string;
  step?: string;
  onChange: (v: number | undefined) => void;
}) {
  return (
    <label>
      {props.label}
      <input
        type="number"
        value={props.value ?? ''}
        placeholder={props.placeholder}
        step={props.step ?? 'any'}
        min={0}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          props.onChange(Number.isFinite(v) ? v : undefined);
        }}
      />
    </label>
  );
}

export function SettingsForm(props: {
  method: MethodName;
  settings: Settings;
  set: <K extends keyof Settings>(key: K, value: Settings[K]) => void;
}) {
  const { settings: s, set } = props;
  const zo = isZerothOrder(props.method);
  const field = (label: string, key: keyof Settings, step?: string): ReactNode => (
    <NumberField
      label={label}
      value={s[key] as number}
      {...(step && { step })}
      onChange={(v) => set(key, v as never)}
    />
  );
  return (
    <div className="settings">
      <div className="grid">
        {field('Steps', 'steps', '1')}
        {field('Learning rate', 'lr')}
        {field('Batch', 'batch', '1')}
        {field('Sequence length', 'seq', '1')}
      </div>
      <details>
        <summary>Advanced</summary>
        <div className="grid">
          {field('Gradient accumulation', 'gradAccum', '1')}
          <label>
            Schedule
            <select
              value={s.schedule}
              onChange={(e) => set('schedule', e.target.value as Settings['schedule'])}
            >
              <option>linear</option>
              <option>cosine</option>
              <option>constant</option>
            </select>
          </label>
          {field('Warm-up steps', 'warmup', '1')}
          {field('Weight decay', 'weightDecay')}
          {field('Checkpoint every', 'checkpointEvery', '1')}
          {field('Seed', 'seed', '1')}
          {zo && field('Perturbation μ', 'zoEps')}
          {zo && field('Directions per step', 'zoQueries', '1')}
          {props.method.startsWith('fo-') && (
            <label className="check">
              <input
                type="checkbox"
                checked={s.recompute}
                onChange={(e) => set('recompute', e.target.checked)}
              />
              Recompute activations (less memory, one more forward)
            </label>
          )}
        </div>
      </details>
    </div>
  );
}
