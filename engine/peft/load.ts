// Load a model ready for parameter-efficient training: the base read one tensor at a time (QLoRA
// quantizes each targeted weight as it arrives, so the float32 model never exists whole), the
// adapter weights added, the linear modules wrapped, and only the adapter left trainable.
import { tf } from '../backend/tf.js';
import type { CausalLM } from '../models/causal-lm.js';
import { denseLinear, type LinearSpec } from '../models/layers/linear.js';
import { checkModel, loadModel, type LoadOptions } from '../models/load.js';
import { Params } from '../models/params.js';
import {
  defaultTargets,
  LORA_DEFAULTS,
  selectTargets,
  type LoraOptions,
  type PeftKind,
} from './config.js';
import {
  addLoraParams,
  isAdapterParam,
  loraLinear,
  type DropoutSwitch,
  type LoraModule,
} from './lora.js';
import { addNf4Weight, nf4Linear } from './qlora.js';
import {
  ADALORA_DEFAULTS,
  adaloraLinear,
  addAdaLoraParams,
  isAdaLoraParam,
  type AdaLoraModel,
  type AdaLoraOptions,
} from './adalora.js';
import { loadPromptModel, promptOptions, type PromptOptions } from './prompt-load.js';
import { isPromptKind } from './prompts.js';

export interface PeftSpec {
  kind: PeftKind;
  lora: LoraOptions;
  /** AdaLoRA's ranks and schedule (kind adalora; its lora.r is unused). */
  adalora?: AdaLoraOptions;
  /** Seed of the adapter's initialisation. */
  seed: number;
  /** Prefix and prompt tuning: virtual tokens and their initialisation. */
  prompt: PromptOptions;
}

export interface PeftModel {
  model: CausalLM;
  spec: PeftSpec;
  /** Adapted modules by name (empty for full fine-tuning). */
  modules: Map<string, LoraModule>;
  /** Turn LoRA dropout on for backprop steps. */
  dropout: DropoutSwitch;
  /** AdaLoRA: its modules with their rank masks (also listed in `modules`). */
  adalora?: AdaLoraModel;
}

/** A PeftSpec with defaults filled in; no targets means the architecture's default targets. */
export function peftSpec(
  kind: PeftKind,
  o: Partial<LoraOptions> & {
    seed?: number;
    adalora?: AdaLoraOptions;
    virtualTokens?: number;
    initText?: string;
  } = {},
): PeftSpec {
  const lora: LoraOptions = {
    r: o.r ?? LORA_DEFAULTS.r,
    alpha: o.alpha ?? LORA_DEFAULTS.alpha,
    dropout: o.dropout ?? LORA_DEFAULTS.dropout,
    rslora: o.rslora ?? LORA_DEFAULTS.rslora,
    targets: o.targets ?? [],
  };
  const adalora = kind === 'adalora' ? (o.adalora ?? { ...ADALORA_DEFAULTS }) : undefined;
  return {
    kind,
    lora,
    ...(adalora && { adalora }),
    seed: o.seed ?? 0,
    prompt: promptOptions(kind, o),
  };
}

/** The modules QLoRA stores in NF4: every linear layer of the blocks. */
export function quantizedModules(specs: LinearSpec[]): LinearSpec[] {
  return selectTargets(specs, ['all-linear']);
}

export async function loadPeftModel(
  dir: string,
  spec: PeftSpec,
  opts: LoadOptions = {},
): Promise<PeftModel> {
  const dropout: DropoutSwitch = { training: false };
  if (spec.kind === 'full') {
    const model = await loadModel(dir, opts);
    model.params.setTrainable();
    return { model, spec, modules: new Map(), dropout };
  }
  if (isPromptKind(spec.kind)) {
    const model = await loadPromptModel(dir, spec.kind, spec, opts);
    return { model, spec, modules: new Map(), dropout };
  }
  const checked = await checkModel(dir);
  const params = new Params();
  try {
    const names =
      spec.lora.targets.length > 0
        ? spec.lora.targets
        : defaultTargets(checked.config.modelType, spec.kind);
    const resolved: PeftSpec = { ...spec, lora: { ...spec.lora, targets: names } };
    const probe = checked.arch.create(checked.config, new Params());
    const targets = selectTargets(probe.linearSpecs(), names);
    // QLoRA quantizes every linear layer of the blocks, adapted or not (the LM head stays).
    const quantized = new Map(
      spec.kind === 'qlora'
        ? quantizedModules(probe.linearSpecs()).map((s) => [`${s.name}.weight`, s])
        : [],
    );
    probe.dispose();
    let loaded = 0;
    for (const [name, shape] of checked.shapes) {
      const tensor = await checked.source.read(checked.stored(name));
      const target = quantized.get(name);
      if (target) addNf4Weight(params, target, Float32Array.from(tensor.values));
      else params.add(name, tf.tensor(tensor.values, shape, 'float32'));
      opts.onTensor?.(++loaded, checked.shapes.size);
    }
    const base =
      spec.kind === 'qlora' ? nf4Linear(params, denseLinear(params)) : denseLinear(params);
    if (spec.kind === 'adalora') {
      const options = spec.adalora ?? { ...ADALORA_DEFAULTS };
      const adalora = addAdaLoraParams(params, targets, options, spec.lora.alpha, spec.seed);
      params.setTrainable(isAdaLoraParam);
      const linear = adaloraLinear(params, base, adalora, spec.lora.dropout, dropout);
      const model = checked.arch.create(checked.config, params, { ...opts, linear });
      const modules = new Map<string, LoraModule>(adalora.modules);
      return { model, spec: { ...resolved, adalora: options }, modules, dropout, adalora };
    }
    const modules = addLoraParams(params, targets, spec.lora, spec.seed);
    params.setTrainable(isAdapterParam);
    const linear = loraLinear(params, base, modules, spec.lora.dropout, dropout);
    const model = checked.arch.create(checked.config, params, { ...opts, linear });
    return { model, spec: resolved, modules, dropout };
  } catch (err) {
    params.dispose();
    throw err;
  } finally {
    await checked.source.close();
  }
}
