// "What trains": the cards, the settings each kind shows, and exactly the protocol fields sent
// to runs:start and models:estimate for each kind (checked against the engine's own schema).
import { renderToStaticMarkup } from 'react-dom/server';
import { beforeEach, describe, expect, it } from 'vitest';
import type { WhetstoneApi } from '../../../main/contract.js';
import { setApi } from '../../lib/api.js';
import { AdapterPicker } from './AdapterPicker.js';
import {
  adapterCards,
  defaultAdapterSettings,
  estimateFields,
  startFields,
  type AdapterSettings,
  type PeftKind,
} from './adapters.js';
import { buildStartSpec, defaultSettings, useMethods } from './methods-store.js';

const kinds: PeftKind[] = ['full', 'lora', 'qlora', 'adalora', 'prefix', 'prompt'];
const render = (peft: PeftKind, adapter = defaultAdapterSettings()) =>
  renderToStaticMarkup(
    <AdapterPicker peft={peft} adapter={adapter} choose={() => {}} set={() => {}} />,
  );

describe('what trains: cards', () => {
  it('a card per kind the protocol names, each with what it trades and its paper', () => {
    expect(adapterCards.map((c) => c.kind)).toEqual(kinds);
    const html = render('lora');
    for (const c of adapterCards) {
      expect(html).toContain(`data-testid="adapter-${c.kind}"`);
      expect(c.tradeoff.split('. ').length).toBe(1); // one sentence
      expect(c.paper.length).toBeGreaterThan(0);
    }
    expect(html).toMatch(/aria-checked="true"[^>]*data-testid="adapter-lora"/);
  });

  it('shows each kind’s own settings, folded under Advanced; none for all weights', () => {
    expect(render('full')).not.toContain('adapter-advanced');
    const lora = render('lora');
    expect(lora).toMatch(/<details[^>]*data-testid="adapter-advanced"/);
    for (const label of ['Rank r', 'Alpha', 'Dropout', 'Target modules', 'rsLoRA', 'paged']) {
      expect(lora).toContain(label);
    }
    expect(lora).toContain('value="all-linear"');
    expect(lora).not.toContain('Virtual tokens');
    const ada = render('adalora');
    for (const label of ['Initial rank', 'Target rank', 'tinit', 'tfinal', 'Δt', 'Orthogonality']) {
      expect(ada).toContain(label);
    }
    expect(ada).not.toContain('rsLoRA');
    expect(ada).toContain('value="12"'); // the paper's initial rank
    const prompt = render('prompt');
    expect(prompt).toContain('Virtual tokens');
    expect(prompt).toContain('placeholder="20"');
    expect(prompt).toContain('Start from this text');
    expect(prompt).not.toContain('Rank r');
    expect(render('prefix')).toContain('placeholder="5"');
  });
});

describe('what trains: fields sent', () => {
  const changed: AdapterSettings = {
    ...defaultAdapterSettings(),
    loraR: 16,
    loraTargets: ' all-linear ',
    rslora: true,
    adaloraTinit: 7,
    virtualTokens: 12,
    promptInitText: 'Answer:',
    pagedOptim: 'on',
  };

  it('each kind sends its own settings and no other kind’s', () => {
    expect(startFields('full', changed)).toEqual({
      peft: 'full',
      rslora: false,
      pagedOptim: 'auto',
    });
    expect(startFields('lora', changed)).toEqual({
      peft: 'lora',
      loraR: 16,
      loraAlpha: 16,
      loraDropout: 0,
      loraTargets: 'all-linear',
      rslora: true,
      pagedOptim: 'on',
    });
    expect(startFields('adalora', changed)).toEqual({
      peft: 'adalora',
      rslora: false,
      loraAlpha: 16,
      loraDropout: 0,
      loraTargets: 'all-linear',
      adaloraInitR: 12,
      adaloraTargetR: 8,
      adaloraTinit: 7,
      adaloraDeltaT: 10,
      adaloraOrthReg: 0.5,
      pagedOptim: 'on',
    });
    expect(startFields('prompt', changed)).toEqual({
      peft: 'prompt',
      rslora: false,
      virtualTokens: 12,
      promptInitText: 'Answer:',
      pagedOptim: 'on',
    });
    // Left empty: the engine's defaults (not sent).
    expect(startFields('prefix', defaultAdapterSettings())).toEqual({
      peft: 'prefix',
      rslora: false,
      pagedOptim: 'auto',
    });
  });

  it('a start spec carries the adapter fields beside the method’s settings and the data choices', () => {
    for (const peft of kinds) {
      const spec = buildStartSpec(
        { method: 'adalomo', settings: defaultSettings('adalomo'), peft, adapter: changed },
        '/m',
        '/d.jsonl',
        { template: 'sst2', encoding: 'latin1' },
      );
      expect(spec).toMatchObject({
        ...startFields(peft, changed),
        template: 'sst2',
        encoding: 'latin1',
        steps: 60,
      });
      expect(spec.method).toBe('adalomo');
    }
  });

  it('the estimate gets what changes memory: rank, targets, virtual tokens, paging', () => {
    expect(estimateFields('qlora', changed)).toEqual({
      peft: 'qlora',
      loraR: 16,
      loraTargets: 'all-linear',
      pagedOptim: 'on',
    });
    expect(estimateFields('adalora', changed)).toMatchObject({ adaloraInitR: 12 });
    expect(estimateFields('prefix', changed)).toEqual({
      peft: 'prefix',
      virtualTokens: 12,
      pagedOptim: 'on',
    });
    expect(estimateFields('full', changed)).toEqual({ peft: 'full' });
  });
});

describe('methods store', () => {
  let calls: { channel: string; input: Record<string, unknown> }[];
  beforeEach(() => {
    calls = [];
    setApi(
      new Proxy({} as WhetstoneApi, {
        get: (_t, channel: string) => (input: Record<string, unknown>) => {
          calls.push({ channel, input });
          return Promise.resolve({
            ok: true,
            data: { method: 'lomo', batch: 4, seq: 64, estimate: {} },
          });
        },
      }),
    );
  });

  it('estimates with the chosen adapter’s memory settings, and a change clears the old estimate', async () => {
    const s = useMethods.getState();
    s.choosePeft('lora');
    s.setAdapter('loraR', 32);
    s.setAdapter('loraTargets', 'q_proj,v_proj');
    await useMethods.getState().runEstimate('/models/m');
    expect(calls.at(-1)).toMatchObject({
      channel: 'models:estimate',
      input: { model: '/models/m', peft: 'lora', loraR: 32, loraTargets: 'q_proj,v_proj' },
    });
    expect(useMethods.getState().estimate).toBeDefined();
    useMethods.getState().setAdapter('loraR', 4);
    expect(useMethods.getState().estimate).toBeUndefined();
    useMethods.getState().choosePeft('prompt');
    useMethods.getState().setAdapter('virtualTokens', 30);
    await useMethods.getState().runEstimate('/models/m');
    expect(calls.at(-1)!.input).toMatchObject({ peft: 'prompt', virtualTokens: 30 });
    expect(calls.at(-1)!.input).not.toHaveProperty('loraR');
  });
});
