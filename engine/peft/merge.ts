// Fold an adapter into its base: W ← W + s·B A (AdaLoRA: s·P diag(λ) Q, pruned ranks adding
// nothing) in float32 for every adapted module. A QLoRA model
// merges into its dequantized NF4 weights (the base the adapter was trained against) or, where the
// run's full-precision base is at hand and unchanged, into those original weights, read one at a
// time. The result holds the base model's tensor names only, ready for a Hugging Face folder.
import { tf, type Tensor, type Variable } from '../backend/tf.js';
import { checkModel } from '../models/load.js';
import { Params } from '../models/params.js';
import { adaloraDelta, isAdaLoraParam } from './adalora.js';
import { isAdapterParam, loraDelta } from './lora.js';
import type { PeftModel } from './load.js';
import { dequantizedWeight, isNf4Param } from './qlora.js';

const NF4_CODES = /\.weight\.nf4_codes$/;

/** The base tensors to merge: plain parameters, and each NF4 module once (by its codes). */
function* baseEntries(
  pm: PeftModel,
): Generator<{ name: string; module?: string; variable?: Variable }> {
  for (const [name, variable] of pm.model.params.entries()) {
    if (isAdapterParam(name) || isAdaLoraParam(name)) continue;
    if (isNf4Param(name)) {
      if (NF4_CODES.test(name)) {
        const module = name.replace(NF4_CODES, '');
        yield { name: `${module}.weight`, module };
      }
      continue;
    }
    const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : undefined;
    yield { name, variable, ...(module !== undefined && { module }) };
  }
}

/** `base` plus the module's delta where it is adapted; a new tensor either way. */
function withDelta(pm: PeftModel, module: string | undefined, base: Tensor): Tensor {
  const m = module === undefined ? undefined : pm.modules.get(module);
  if (!m) return tf.clone(base);
  const { params } = pm.model;
  const ada = pm.adalora?.modules.get(module!);
  return tf.tidy(() => tf.add(base, ada ? adaloraDelta(params, ada) : loraDelta(params, m)));
}

/** A new Params with the merged weights; the PEFT model is left as it was. */
export function mergeAdapter(pm: PeftModel): Params {
  const specs = new Map(pm.model.linearSpecs().map((s) => [s.name, s]));
  const merged = new Params();
  try {
    for (const { name, module, variable } of baseEntries(pm)) {
      const base = variable ?? dequantizedWeight(pm.model.params, specs.get(module!)!);
      merged.add(name, withDelta(pm, module, base));
      if (!variable) base.dispose();
    }
    return merged;
  } catch (err) {
    merged.dispose();
    throw err;
  }
}

/**
 * As mergeAdapter, with every quantized module's weight read from `baseDir` (the full-precision
 * original, which the caller has verified is the run's base) instead of dequantized.
 */
export async function mergeIntoOriginal(pm: PeftModel, baseDir: string): Promise<Params> {
  const checked = await checkModel(baseDir);
  const merged = new Params();
  try {
    for (const { name, module, variable } of baseEntries(pm)) {
      if (variable) {
        merged.add(name, withDelta(pm, module, variable));
        continue;
      }
      const { values } = await checked.source.read(checked.stored(name));
      const base = tf.tensor(values, checked.shapes.get(name), 'float32');
      merged.add(name, withDelta(pm, module, base));
      base.dispose();
    }
    return merged;
  } catch (err) {
    merged.dispose();
    throw err;
  } finally {
    await checked.source.close();
  }
}
