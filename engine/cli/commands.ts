// The CLI's commands: their options, help text, and how arguments become a JobSpec.
import { modelTypes } from '../../common/architectures.js';
import { backendNames } from '../backend/types.js';
import type { JobSpec } from '../protocol.js';
import { batchingOptions, dataOptions } from './data-options.js';

type OptionKind = 'string' | 'number' | 'boolean';

export interface CommandDef {
  summary: string;
  usage: string;
  /** CLI flag (kebab-case) -> [JobSpec field, kind, help]. */
  options: Record<string, [field: string, kind: OptionKind, help: string]>;
  /** Older spellings kept for scripts that use them: old flag -> current flag. */
  aliases?: Record<string, string>;
  required: string[];
}

const model: CommandDef['options'] = { model: ['model', 'string', 'Hugging Face model folder'] };
const data: CommandDef['options'] = {
  data: ['data', 'string', 'dataset: .jsonl .json .csv .tsv .parquet .txt (format detected)'],
};
/** What `train` and `estimate` both take: the method and the shape of a step. */
const run: CommandDef['options'] = {
  method: [
    'method',
    'string',
    'fo-sgd | fo-adamw | lomo | adalomo | zo-sgd | zo-sign | zo-mmt | zo-cons | zo-adam | forward-grad',
  ],
  batch: ['batch', 'number', 'sequences per step (default 4)'],
  seq: ['seq', 'number', 'tokens per sequence (default min(256, context))'],
  recompute: [
    'recompute',
    'boolean',
    'FO methods: recompute activations block by block instead of keeping them',
  ],
  peft: [
    'peft',
    'string',
    'full (default) | lora | qlora (NF4 base + LoRA) | adalora | prefix | prompt',
  ],
  'lora-r': ['loraR', 'number', 'LoRA rank (default 8)'],
  'lora-alpha': ['loraAlpha', 'number', 'LoRA alpha; the update is scaled by alpha/r (default 16)'],
  'lora-dropout': [
    'loraDropout',
    'number',
    'dropout on the adapter input, backprop only (default 0)',
  ],
  'lora-targets': [
    'loraTargets',
    'string',
    'modules to adapt, e.g. q_proj,v_proj or all-linear (default: q,v for LoRA; all-linear for QLoRA)',
  ],
  rslora: ['rslora', 'boolean', 'scale by alpha/sqrt(r) (rsLoRA)'],
  'adalora-init-r': ['adaloraInitR', 'number', 'AdaLoRA: starting rank per matrix (default 12)'],
  'adalora-target-r': ['adaloraTargetR', 'number', 'AdaLoRA: average final rank (default 8)'],
  'adalora-tinit': ['adaloraTinit', 'number', 'AdaLoRA: warm-up steps before pruning'],
  'adalora-tfinal': ['adaloraTfinal', 'number', 'AdaLoRA: final steps at the target budget'],
  'adalora-delta-t': ['adaloraDeltaT', 'number', 'AdaLoRA: steps between budget allocations'],
  'adalora-orth-reg': ['adaloraOrthReg', 'number', 'AdaLoRA: orthogonality regulariser weight'],
  'virtual-tokens': [
    'virtualTokens',
    'number',
    'prefix/prompt: virtual tokens (20 prompt, 5 prefix)',
  ],
  'prompt-init-text': [
    'promptInitText',
    'string',
    'prefix/prompt: initialise the virtual tokens from this text (default random)',
  ],
  'paged-optim': [
    'pagedOptim',
    'string',
    'auto (default) | on | off: keep fo-adamw moments in host memory (auto: when the device is short; never on cpu/wasm)',
  ],
};

/** `--checkpointing` named activation recomputation before it was told apart from saving. */
const runAliases = { checkpointing: 'recompute' };

const backend: CommandDef['options'] = {
  backend: [
    'backend',
    'string',
    `${backendNames.join(' | ')} (default: best available; env WHETSTONE_BACKEND)`,
  ],
};

export const commands: Record<JobSpec['kind'], CommandDef> = {
  info: {
    summary: 'Describe a model folder (architecture, size, files, tokenizer).',
    usage: 'whetstone info --model DIR [--json]',
    options: { ...model },
    required: ['model'],
  },
  generate: {
    summary: 'Continue a prompt with a model (greedy by default).',
    usage:
      'whetstone generate --model DIR [--run RUN] --prompt TEXT [--max-new-tokens N] [--temperature T --top-k K --top-p P --seed S] [--chat] [--json]',
    options: {
      ...model,
      run: ['run', 'string', "a training run: generate with its tuned model over --model's base"],
      prompt: ['prompt', 'string', 'text to continue'],
      chat: ['chat', 'boolean', "wrap the prompt as a user turn with the model's chat template"],
      'max-new-tokens': ['maxNewTokens', 'number', 'tokens to generate (default 64)'],
      temperature: ['temperature', 'number', '0 = greedy (default), higher = more random'],
      'top-k': ['topK', 'number', 'sample among the k most likely tokens (0 = all)'],
      'top-p': [
        'topP',
        'number',
        'sample among the most likely tokens reaching probability p (1 = all)',
      ],
      seed: ['seed', 'number', 'sampling seed (default 0)'],
      ...backend,
    },
    required: ['model', 'prompt'],
  },
  eval: {
    summary: 'Loss and perplexity over a dataset; accuracy for classification data.',
    usage: 'whetstone eval --model DIR --data FILE.jsonl [--seq T] [--batch B] [--json]',
    options: {
      ...model,
      ...data,
      seq: ['seq', 'number', 'truncate texts to T tokens (default min(1024, context))'],
      batch: ['batch', 'number', 'sequences per batch (default 4)'],
      ...dataOptions,
      ...backend,
    },
    // The names train uses; the older spellings stay for scripts.
    aliases: { 'max-length': 'seq', 'batch-size': 'batch' },
    required: ['model', 'data'],
  },
  inspect: {
    summary: 'Show how a dataset file is read: format, columns, rendered rows, problems.',
    usage:
      'whetstone data inspect FILE [--model DIR] [--rows N] [--seq T] [--limit N] [--format F --columns role=col,... --template T] [--json]',
    options: {
      data: ['data', 'string', 'dataset file (or give it after "data inspect")'],
      model: ['model', 'string', "tokenise with this model's tokenizer and chat template"],
      rows: ['rows', 'number', 'rows to show rendered (default 3)'],
      seq: [
        'seq',
        'number',
        'sequence length for the length statistics (default min(256, context))',
      ],
      limit: ['limit', 'number', 'read only the first N rows'],
      ...dataOptions,
    },
    required: ['data'],
  },
  logits: {
    summary: 'Write the logits [B, T, V] for token ids, to compare with other implementations.',
    usage: 'whetstone logits --model DIR --ids FILE.json --out FILE.safetensors [--json]',
    options: {
      ...model,
      ids: ['ids', 'string', 'JSON file: [[ids], ...]'],
      out: ['out', 'string', 'safetensors file to write (logits, input_ids, lengths)'],
      ...backend,
    },
    required: ['model', 'ids', 'out'],
  },
  train: {
    summary:
      'Fine-tune a model on a dataset file (jsonl, json, csv, tsv, parquet, txt); the run is a folder that can be resumed.',
    usage:
      'whetstone train --model DIR --data FILE --method METHOD [--peft lora|qlora --lora-r R --lora-alpha A --lora-targets T | --peft prefix|prompt --virtual-tokens N --prompt-init-text TEXT] [--format F --template T] [--steps N | --epochs E] [--lr X] [--batch B] [--seq T] [--eval-every N] [--out RUN] [--json]',
    options: {
      ...model,
      ...data,
      ...dataOptions,
      ...batchingOptions,
      ...run,
      steps: ['steps', 'number', 'optimizer steps (default 100)'],
      epochs: ['epochs', 'number', 'passes over the training rows (instead of --steps)'],
      lr: [
        'lr',
        'number',
        'learning rate (default: fo-sgd/lomo 1e-2, fo-adamw 1e-4, adalomo 1e-3, zo-adam 1e-5, other zeroth-order 1e-6; zeroth-order ×50 with LoRA kinds, ×1e4 with prefix/prompt; fo-adamw 1e-2 prefix, 3e-2 prompt)',
      ],
      'grad-accum': ['gradAccum', 'number', 'micro-batches per step (FO methods; default 1)'],
      schedule: ['schedule', 'string', 'constant | linear | cosine (default linear)'],
      warmup: ['warmup', 'number', 'warmup steps (default 0)'],
      'weight-decay': ['weightDecay', 'number', 'weight decay (default 0)'],
      'max-grad-norm': ['maxGradNorm', 'number', 'clip the global gradient norm'],
      'clip-value': ['clipValue', 'number', 'clamp gradient elements to [-v, v]'],
      'zo-eps': [
        'zoEps',
        'number',
        'zeroth-order: perturbation scale μ (default 1e-3; 1e-2 with LoRA kinds, 1e-1 with prefix/prompt)',
      ],
      'zo-queries': ['zoQueries', 'number', 'zeroth-order: random directions per step (default 1)'],
      'zo-one-sided': ['zoOneSided', 'boolean', 'zeroth-order: (f(θ+μz) − f(θ))/μ estimate'],
      'zo-sign-form': [
        'zoSignForm',
        'string',
        'zo-sign: projected (sign(g)·z, default) | elementwise (sign(g)·sign(z))',
      ],
      'eval-every': ['evalEvery', 'number', 'evaluate on held-out rows every N steps'],
      'eval-fraction': ['evalFraction', 'number', 'share of rows held out (default 0.1)'],
      'score-start': [
        'scoreStart',
        'boolean',
        'classification: also score the held-out rows before the first step (the accuracy before tuning)',
      ],
      'checkpoint-every': ['checkpointEvery', 'number', 'checkpoint every N steps (default 50)'],
      out: ['out', 'string', 'run folder (default runs/<time>-<method>)'],
      seed: ['seed', 'number', 'seed of the data order and the zeroth-order noise (default 0)'],
      'init-adapter': [
        'initAdapter',
        'string',
        'start from a PEFT adapter folder (LoRA; AdaLoRA with --peft adalora)',
      ],
      ...backend,
    },
    aliases: runAliases,
    required: ['model', 'data', 'method'],
  },
  sweep: {
    summary:
      'Compare methods: train every method × scheme × seed (× template on/off) one run at a time, then write results.json and README.md (the papers’ tables) into --out.',
    usage:
      'whetstone sweep --model DIR --data FILE --out DIR [--methods M,M,...] [--peft full,lora,prefix,prompt] [--steps N|M=N,...] [--lr X|M=X,...] [--seeds N] [--ablate-template] [--batch B] [--seq T] [--target-loss L] [--cluster NAME] [--json]',
    options: {
      ...model,
      ...data,
      methods: [
        'methods',
        'string',
        'methods to compare (default fo-sgd,fo-adamw,forward-grad,zo-sgd,zo-sign,zo-mmt,zo-cons,zo-adam)',
      ],
      peft: ['peft', 'string', 'schemes to compare (default full,lora,prefix,prompt)'],
      steps: [
        'steps',
        'string',
        'steps of every method (200) or per method (zo-sgd=400,fo-adamw=40); default 40, zeroth-order and forward-grad 400',
      ],
      lr: [
        'lr',
        'string',
        'learning rate of every method, per method (zo-sgd=1e-4,...) or per method and scheme (zo-sgd/lora=5e-4); default per method and scheme, as train',
      ],
      seeds: ['seeds', 'number', 'seeds per cell, 0..N-1 (default 1)'],
      'ablate-template': [
        'ablateTemplate',
        'boolean',
        'run every cell with and without the task template (doubles the grid)',
      ],
      batch: run.batch!,
      seq: run.seq!,
      'eval-fraction': [
        'evalFraction',
        'number',
        'share of rows held out and scored (default 0.2)',
      ],
      'target-loss': [
        'targetLoss',
        'number',
        'the training loss whose first step the table reports (default: the median final loss of the runs that lowered theirs)',
      ],
      out: ['out', 'string', 'sweep folder (re-running the same command continues it)'],
      cluster: [
        'cluster',
        'string',
        'submit the grid to this cluster profile as one Slurm job array (--out in its shared folder); the same command again writes the tables so far',
      ],
      format: dataOptions.format!,
      columns: dataOptions.columns!,
      template: dataOptions.template!,
      'label-words': dataOptions['label-words']!,
      ...backend,
    },
    required: ['model', 'data', 'out'],
  },
  export: {
    summary:
      'Export a run: merged (a Hugging Face folder with the adapter folded in), adapter (PEFT layout), or gguf (one file for llama.cpp and Ollama, with a Modelfile).',
    usage:
      'whetstone export --run DIR [--format merged|adapter] --out DIR [--model BASE] [--max-shard-bytes N] [--force] [--json]\n' +
      '       whetstone export (--run DIR | --model DIR) --format gguf [--quant f32|f16|bf16|q8_0|q4_0|q4_k_m] --out FILE.gguf [--force]',
    options: {
      run: ['run', 'string', 'run folder (its last checkpoint is exported)'],
      format: ['format', 'string', 'merged (default) | adapter | gguf (llama.cpp / Ollama)'],
      quant: ['quant', 'string', 'gguf: f32 | f16 (default) | bf16 | q8_0 | q4_0 | q4_k_m'],
      out: ['out', 'string', 'folder to write (gguf: the .gguf file)'],
      model: [
        'model',
        'string',
        "base model folder (default: the run's own); gguf without --run: the model to export",
      ],
      'max-shard-bytes': ['maxShardBytes', 'number', 'merged: shard above N bytes (default 5e9)'],
      force: ['force', 'boolean', 'replace an existing --out folder'],
      ...backend,
    },
    aliases: { 'shard-bytes': 'max-shard-bytes' },
    required: ['out'],
  },
  resume: {
    summary: 'Continue a run from its last checkpoint (same data order, same numbers).',
    usage: 'whetstone resume --run DIR [--steps N] [--json]',
    options: {
      run: ['run', 'string', 'run folder'],
      steps: ['steps', 'number', "train to N steps in all (default: the run's own)"],
      ...backend,
    },
    required: ['run'],
  },
  replay: {
    summary:
      'Rebuild a zo-sgd/zo-sign/zo-cons run’s weights from its base model and update history.',
    usage:
      'whetstone replay --run DIR --out MODEL_DIR [--model BASE] [--records N] [--force] [--json]',
    options: {
      run: ['run', 'string', 'run folder (holds zo-history.bin)'],
      out: ['out', 'string', 'Hugging Face folder to write'],
      model: ['model', 'string', "base model folder (default: the run's own)"],
      records: ['records', 'number', 'apply only the first N history records'],
      force: ['force', 'boolean', 'replace an existing --out folder'],
      ...backend,
    },
    required: ['out'],
  },
  estimate: {
    summary:
      'Predict the peak memory of a training run before starting it (with --backend wasm|cpu: whether it fits).',
    usage:
      'whetstone estimate --model DIR --method M [--batch B] [--seq T] [--recompute] [--peft lora|qlora|adalora --lora-r R --lora-targets T | --peft prefix|prompt --virtual-tokens N] [--paged-optim on] [--backend NAME] [--json]',
    options: { ...model, ...run, ...backend },
    aliases: runAliases,
    required: ['model', 'method'],
  },
  fixture: {
    summary:
      'Write a random model in Hugging Face layout: a small one for tests and demos, or a published model’s exact shapes (--preset).',
    usage:
      `whetstone fixture --arch ${modelTypes.join('|')} --out DIR [--layers N --hidden N --heads N --kv-heads N --vocab N --context-length N --seed S --dtype F32|F16|BF16 --max-shard-bytes N --force]\n` +
      '       whetstone fixture --preset qwen2.5-0.5b|llama-3.2-1b|smollm2-135m|gpt2|opt-125m --out DIR [--layers N --seed S --force]',
    options: {
      arch: ['arch', 'string', modelTypes.join(' | ')],
      preset: [
        'preset',
        'string',
        "a published model's exact config and shapes, random weights in its dtype: qwen2.5-0.5b | llama-3.2-1b | smollm2-135m | gpt2 | opt-125m",
      ],
      out: ['out', 'string', 'folder to create'],
      layers: ['layers', 'number', 'decoder blocks (default 2)'],
      hidden: ['hidden', 'number', 'model width (default 64)'],
      heads: ['heads', 'number', 'attention heads (default 4)'],
      'kv-heads': ['kvHeads', 'number', 'key/value heads (Llama family; default heads/2)'],
      vocab: ['vocab', 'number', 'vocabulary size (default 512)'],
      'context-length': ['contextLength', 'number', 'context length (default 128)'],
      seed: ['seed', 'number', 'random seed (default 0)'],
      dtype: ['dtype', 'string', 'storage dtype F32 | F16 | BF16 (default F32)'],
      'max-shard-bytes': ['maxShardBytes', 'number', 'split into shards of at most N bytes'],
      force: ['force', 'boolean', 'replace an existing --out folder'],
    },
    aliases: { context: 'context-length', 'shard-bytes': 'max-shard-bytes' },
    required: ['out'],
  },
  backends: {
    summary: 'Show the tensor backend this machine gets, its device, and why others were skipped.',
    usage: 'whetstone backends [--backend NAME] [--json]',
    options: { ...backend },
    required: [],
  },
};
