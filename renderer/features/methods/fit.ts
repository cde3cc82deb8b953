// Will a run fit? The engine's peak-memory estimate against the memory the chosen backend
// draws from: the GPU's (when the driver tells) or the host's, and wasm's 4 GiB heap. Where the
// engine judged the backend itself (its fit rule, the one a run is refused by), its verdict wins.
import type { SystemInfo } from '../../../main/contract.js';
import type { RunFit } from '../../../engine/job-results.js';
import type { MemoryEstimate } from '../../../engine/train/estimate.js';

export type Verdict = 'fits' | 'tight' | 'no-fit' | 'unknown';

export interface Fit {
  verdict: Verdict;
  /** Bytes the run may use, and where that figure comes from. */
  budgetBytes?: number;
  budgetSource: string;
  /** What to change when it is tight or will not fit. */
  advice: string[];
  /** The engine's refusal (estimate, limit, what would fit): Start stays off while it stands. */
  refusal?: string;
}

const WASM_HEAP = 4 * 1024 ** 3;
/** Below this share of the budget a run fits comfortably; up to TIGHT it is tight. */
const COMFORT = 0.7;
const TIGHT = 0.95;

export function judgeFit(
  estimate: MemoryEstimate,
  system: SystemInfo,
  settings: { method: string; batch: number; recompute: boolean },
  engineFit?: RunFit,
): Fit {
  if (engineFit && !engineFit.fits) {
    const budget = { budgetBytes: engineFit.limitBytes, budgetSource: engineFit.limitWhat };
    // An automatic run passes over the backend for one that holds it, as the engine does.
    if (engineFit.fallback !== undefined) {
      const advice = [
        `Too large for ${engineFit.backend}: the run will use ${engineFit.fallback}.`,
      ];
      return { verdict: 'tight', ...budget, advice };
    }
    return { verdict: 'no-fit', ...budget, advice: [], refusal: engineFit.message };
  }
  let budgetBytes: number | undefined;
  let budgetSource: string;
  if (system.gpu) {
    budgetBytes = system.deviceMemory.freeBytes ?? system.deviceMemory.totalBytes;
    budgetSource = `${system.device} (${system.deviceMemory.source})`;
  } else {
    budgetBytes = system.hostMemory.freeBytes;
    budgetSource = 'free host memory';
    if (system.backend === 'wasm' && budgetBytes > WASM_HEAP) {
      budgetBytes = WASM_HEAP;
      budgetSource = 'the wasm backend’s 4 GiB heap';
    }
  }
  if (budgetBytes === undefined) return { verdict: 'unknown', budgetSource, advice: [] };
  const share = estimate.peakBytes / budgetBytes;
  const verdict: Verdict = share <= COMFORT ? 'fits' : share <= TIGHT ? 'tight' : 'no-fit';
  const advice: string[] = [];
  if (verdict !== 'fits') {
    if (estimate.optimizerBytes > 0 || estimate.gradientBytes > estimate.weightBytes / 4) {
      advice.push(
        'Use LOMO or AdaLomo (one block’s gradients at a time) or a zeroth-order method (inference memory).',
      );
    }
    if (settings.method.startsWith('fo-') && !settings.recompute) {
      advice.push('Turn on recomputing activations (advanced settings).');
    }
    if (settings.batch > 1) advice.push('Lower the batch size (and raise gradient accumulation).');
    advice.push('Shorten the sequence length.');
  }
  return { verdict, budgetBytes, budgetSource, advice };
}
