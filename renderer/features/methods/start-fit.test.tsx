// Start follows the engine's fit rule: a run the engine would refuse cannot be started, and the
// fit badge shows the engine's own message (estimate, limit, what would fit).
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { EstimateResult, SystemInfo } from '../../../main/contract.js';
import { judgeFit } from './fit.js';
import { MemoryFit } from './MemoryFit.js';
import { StartButton } from './StartButton.js';

const GiB = 1024 ** 3;
const system: SystemInfo = {
  appVersion: 't',
  platform: 'linux',
  backend: 'wasm',
  device: 'CPU (wasm SIMD, 1 thread)',
  gpu: false,
  software: false,
  skipped: [],
  deviceMemory: { source: 'none' },
  hostMemory: { totalBytes: 16 * GiB, freeBytes: 12 * GiB },
};
const message =
  'lomo training (batch 1 x 128 tokens) does not fit the wasm backend: the estimate needs tensors at peak 4.21 GiB, above the wasm heap (4.00 GiB). Would fit: --peft lora (about 2.18 GiB).';
const refused = { backend: 'wasm', fits: false, limitBytes: 4 * GiB, limitWhat: 'the wasm heap' };
const result = (fit: EstimateResult['fit']): EstimateResult => ({
  method: 'lomo',
  peft: 'full',
  batch: 1,
  seq: 128,
  pagedOptim: false,
  estimate: {
    peakBytes: 4.21 * GiB,
    weightBytes: 1.84 * GiB,
    gradientBytes: GiB,
    optimizerBytes: 0,
    activationBytes: 0.34 * GiB,
  },
  ...(fit && { fit }),
});
const settings = { method: 'lomo', batch: 1, recompute: false };

/** What the methods screen renders for an estimate: the badge, and Start with its refusal. */
function screen(estimate: EstimateResult): { badge: string; start: string } {
  const refusal = judgeFit(estimate.estimate, system, settings, estimate.fit).refusal;
  return {
    badge: renderToStaticMarkup(
      <MemoryFit estimate={estimate} system={system} settings={settings} />,
    ),
    start: renderToStaticMarkup(
      <StartButton model="/m" data="/d.jsonl" refusal={refusal} onStart={() => {}} />,
    ),
  };
}

describe('Start and the fit rule', () => {
  it('stays off, with the engine’s refusal in the badge, when no backend would hold the run', () => {
    const { badge, start } = screen(result({ ...refused, message }));
    expect(badge).toContain('Will not fit');
    expect(badge).toContain(message);
    expect(start).toMatch(/<button[^>]*disabled=""[^>]*>Start training/);
    expect(start).toContain('Will not fit: change the settings above.');
  });

  it('starts when an automatic run falls back to a backend that holds it', () => {
    const { badge, start } = screen(result({ ...refused, message, fallback: 'cpu' }));
    expect(badge).toContain('Too large for wasm: the run will use cpu.');
    expect(start).not.toMatch(/disabled/);
  });

  it('says what is missing before anything else', () => {
    const html = (p: { model?: string; data?: string }) =>
      renderToStaticMarkup(<StartButton {...p} refusal={message} onStart={() => {}} />);
    expect(html({})).toContain('Choose a model to start.');
    expect(html({ model: '/m' })).toContain('Choose a dataset to start.');
  });
});
