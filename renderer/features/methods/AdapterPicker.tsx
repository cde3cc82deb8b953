// "What trains": a card per kind (all weights or an adapter), and the chosen adapter's settings
// folded under Advanced — exactly the engine's protocol fields, paper defaults filled in.
import type { ReactNode } from 'react';
import { VIRTUAL_TOKEN_DEFAULTS } from '../../../common/defaults.js';
import { isLoraKind, isPromptKind } from '../../../common/methods.js';
import { adapterCards, type AdapterSettings, type PagedOptim, type PeftKind } from './adapters.js';
import { NumberField, OptionalNumberField } from './SettingsForm.js';

type SetAdapter = <K extends keyof AdapterSettings>(key: K, value: AdapterSettings[K]) => void;

export function AdapterPicker(props: {
  peft: PeftKind;
  adapter: AdapterSettings;
  choose: (kind: PeftKind) => void;
  set: SetAdapter;
}) {
  return (
    <section className="adapters" aria-labelledby="what-trains">
      <h3 id="what-trains">What trains</h3>
      <div className="cards adapter-cards" role="radiogroup" aria-labelledby="what-trains">
        {adapterCards.map((c) => (
          <button
            key={c.kind}
            type="button"
            role="radio"
            aria-checked={c.kind === props.peft}
            data-testid={`adapter-${c.kind}`}
            className={`method-card${c.kind === props.peft ? ' selected' : ''}`}
            onClick={() => props.choose(c.kind)}
          >
            <span className="card-title">{c.title}</span>
            <span className="card-text">{c.tradeoff}</span>
            <span className="card-defaults">{c.paper}</span>
          </button>
        ))}
      </div>
      {props.peft !== 'full' && (
        <details className="settings" data-testid="adapter-advanced">
          <summary>
            Advanced: {adapterCards.find((c) => c.kind === props.peft)?.title} settings
          </summary>
          <AdapterFields {...props} />
        </details>
      )}
    </section>
  );
}

function AdapterFields({
  peft,
  adapter: a,
  set,
}: {
  peft: PeftKind;
  adapter: AdapterSettings;
  set: SetAdapter;
}) {
  const num = (label: string, key: keyof AdapterSettings, step?: string): ReactNode => (
    <NumberField
      label={label}
      value={a[key] as number}
      {...(step && { step })}
      min={0}
      onChange={(v) => set(key, v as never)}
    />
  );
  return (
    <div className="grid">
      {peft === 'adalora' ? (
        <>
          {num('Initial rank', 'adaloraInitR', '1')}
          {num('Target rank (average)', 'adaloraTargetR', '1')}
          <OptionalNumberField
            label="Warm-up steps (tinit)"
            value={a.adaloraTinit}
            placeholder="10% of steps"
            step="1"
            onChange={(v) => set('adaloraTinit', v)}
          />
          <OptionalNumberField
            label="Final steps (tfinal)"
            value={a.adaloraTfinal}
            placeholder="30% of steps"
            step="1"
            onChange={(v) => set('adaloraTfinal', v)}
          />
          {num('Steps between budget moves (Δt)', 'adaloraDeltaT', '1')}
          {num('Orthogonality weight', 'adaloraOrthReg')}
        </>
      ) : (
        isLoraKind(peft) && num('Rank r', 'loraR', '1')
      )}
      {isLoraKind(peft) && (
        <>
          {num('Alpha α', 'loraAlpha')}
          {num('Dropout', 'loraDropout')}
          <label>
            Target modules
            <input
              type="text"
              list="lora-targets"
              value={a.loraTargets}
              placeholder={peft === 'qlora' ? 'all-linear' : 'default for the architecture'}
              onChange={(e) => set('loraTargets', e.target.value)}
              spellCheck={false}
            />
            <datalist id="lora-targets">
              <option value="all-linear" />
              <option value="q_proj,v_proj" />
              <option value="q_proj,k_proj,v_proj,o_proj" />
            </datalist>
          </label>
        </>
      )}
      {(peft === 'lora' || peft === 'qlora') && (
        <label className="check">
          <input
            type="checkbox"
            checked={a.rslora}
            onChange={(e) => set('rslora', e.target.checked)}
          />
          rsLoRA scaling (α/√r)
        </label>
      )}
      {isPromptKind(peft) && (
        <>
          <OptionalNumberField
            label="Virtual tokens"
            value={a.virtualTokens}
            placeholder={String(VIRTUAL_TOKEN_DEFAULTS[peft])}
            step="1"
            onChange={(v) => set('virtualTokens', v)}
          />
          <label className="wide">
            Start from this text
            <input
              type="text"
              value={a.promptInitText}
              placeholder="random (or e.g. “Answer the question:”)"
              onChange={(e) => set('promptInitText', e.target.value)}
            />
          </label>
        </>
      )}
      <label>
        Optimizer state in host memory (paged)
        <select
          value={a.pagedOptim}
          onChange={(e) => set('pagedOptim', e.target.value as PagedOptim)}
        >
          <option value="auto">auto: when the device is short</option>
          <option value="on">on</option>
          <option value="off">off</option>
        </select>
      </label>
    </div>
  );
}
