// Fold an adapter into its base: W ← W + s·B A (AdaLoRA: s·P diag(λ) Q) in float32 for every adapted module (QLoRA: into
// the dequantized NF4 weight, the base the adapter was trained against). The result holds the
// base model's tensor names only, ready for a Hugging Face folder.
import { tf } from '../backend/tf.js';
import { Params } from '../models/params.js';
import { adaloraDelta, isAdaLoraParam } from './adalora.js';
import { isAdapterParam, loraDelta, type LoraModule } from './lora.js';
import type { PeftModel } from './load.js';
import { dequantizedWeight, isNf4Param } from './qlora.js';

const NF4_CODES = /\.weight\.nf4_codes$/;

/** A new Params with the merged weights; the PEFT model is left as it was. */
export function mergeAdapter(pm: PeftModel): Params {
  const { params } = pm.model;
  const specs = new Map(pm.model.linearSpecs().map((s) => [s.name, s]));
  const merged = new Params();
  // AdaLoRA's ΔW = s·P diag(λ ⊙ mask) Q: pruned ranks contribute nothing.
  const deltaOf = (m: LoraModule) => {
    const ada = pm.adalora?.modules.get(m.spec.name);
    return ada ? adaloraDelta(params, ada) : loraDelta(params, m);
  };
  try {
    for (const [name, variable] of params.entries()) {
      if (isAdapterParam(name) || isAdaLoraParam(name)) continue;
      if (isNf4Param(name)) {
        if (!NF4_CODES.test(name)) continue;
        const module = name.replace(NF4_CODES, '');
        const m = pm.modules.get(module);
        merged.add(
          `${module}.weight`,
          tf.tidy(() => {
            const w = dequantizedWeight(params, specs.get(module)!);
            return m ? tf.add(w, deltaOf(m)) : w;
          }),
        );
        continue;
      }
      const m = name.endsWith('.weight')
        ? pm.modules.get(name.slice(0, -'.weight'.length))
        : undefined;
      merged.add(
        name,
        tf.tidy(() => (m ? tf.add(variable, deltaOf(m)) : tf.clone(variable))),
      );
    }
    return merged;
  } catch (err) {
    merged.dispose();
    throw err;
  }
}
