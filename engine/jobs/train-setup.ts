// The steps that set a training run up, in the order runTraining (train.ts) takes them: resolve
// the adapter, load the model (and start it from an adapter folder), load the data, build the
// method, restore a checkpoint. Each is one decision with its own errors.
import { loadDataset, type Dataset } from '../data/dataset.js';
import { dataChoices } from '../data/options.js';
import { describeProblems } from '../data/problems.js';
import { WhetstoneError } from '../errors.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { createLogger } from '../log.js';
import type { CausalLM } from '../models/causal-lm.js';
import { addClassifier, CLASSIFIER_WEIGHT, withClassifier } from '../models/classifier-head.js';
import { mlmMasking } from '../data/masked.js';
import { createMethod } from '../optim/create-method.js';
import type { TrainMethod } from '../optim/method.js';
import { ZoMethod } from '../optim/zo.js';
import { adaloraOptions } from '../peft/adalora.js';
import { AdaLoraAllocator, withAdaLora } from '../peft/adalora-train.js';
import { adapterFormat, type InitAdapter } from '../peft/adapters.js';
import { recordBaseIdentity } from '../peft/base-identity.js';
import { loraFields } from '../peft/config.js';
import { peftSpec, type PeftModel, type PeftSpec } from '../peft/load.js';
import { checkPromptMethod, promptFields } from '../peft/prompt-load.js';
import { withDropout } from '../peft/train-mode.js';
import type { TrainSpec } from '../protocol.js';
import { restoreCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import type { RunDir } from '../train/run-dir.js';
import { BatchSampler, type BatchTargets } from '../train/text-data.js';
import { ZoHistoryFile } from '../train/zo-history-file.js';

const log = createLogger('train');

/** What trains, with the settings an adapter folder to start from brings over the run's flags. */
export interface ResolvedAdapter {
  spec: PeftSpec;
  init?: InitAdapter;
}

/** Step 1: the adapter kind and its settings; an --init-adapter folder's own win. */
export async function resolveAdapter(spec: TrainSpec): Promise<ResolvedAdapter> {
  checkPromptMethod(spec.peft, spec.method, spec.recompute);
  if (spec.initAdapter && spec.peft === 'full') {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      '--init-adapter needs --peft lora, qlora, adalora, prefix or prompt.',
      'Add the --peft kind the adapter was made with to train it further.',
    );
  }
  const init =
    spec.initAdapter && spec.peft !== 'full'
      ? await adapterFormat(spec.peft).read(spec.initAdapter, spec.peft)
      : undefined;
  // The adapter's ranks come with it; the budget's schedule stays this run's.
  const lora = { ...loraFields(spec), ...init?.lora };
  const adalora = { ...adaloraOptions(spec), ...init?.adalora };
  const prompt = { ...promptFields(spec), ...init?.prompt };
  return {
    spec: peftSpec(spec.peft, { ...lora, ...prompt, adalora, seed: spec.seed }),
    ...(init && { init }),
  };
}

/** Step 2, after loading: a new run starts from the adapter folder's weights, if it has one. */
export async function startModel(
  spec: TrainSpec,
  adapter: ResolvedAdapter,
  pm: PeftModel,
  run: RunDir,
): Promise<void> {
  await adapter.init?.loadWeights(pm);
  // QLoRA quantizes its base: record which one, so an export can merge into the original.
  if (spec.peft === 'qlora') await recordBaseIdentity(run.dir, spec.model);
}

export interface TrainingData {
  data: Dataset;
  tokenizer: TextTokenizer;
  seqLen: number;
}

/** Step 3: the tokenizer, and the dataset cut to the sequence length and split for evaluation. */
export async function loadTrainingData(spec: TrainSpec, model: CausalLM): Promise<TrainingData> {
  const tokenizer = await loadTokenizer(spec.model);
  const seqLen = spec.seq ?? Math.min(256, model.config.contextLength);
  if (seqLen > model.config.contextLength) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `--seq ${seqLen} is longer than the model's context (${model.config.contextLength}).`,
    );
  }
  const masked =
    model.objective === 'masked' ? mlmMasking(tokenizer, model.config.vocabSize) : undefined;
  const data = await loadDataset(spec.data, tokenizer, {
    ...(masked && { masked }),
    ...dataChoices(spec),
    ...(spec.overLength && { overLength: spec.overLength }),
    ...(spec.trainOn && { trainOn: spec.trainOn }),
    ...(spec.pack && { pack: true }),
    ...(spec.dedup && { dedup: true }),
    seqLen,
    evalFraction: spec.evalEvery ? spec.evalFraction : 0,
    seed: spec.seed,
  });
  const { problems } = data;
  if (problems.total > 0) {
    log.warn(
      `${problems.total} row(s) skipped:\n${describeProblems(problems.kept, 5, problems.total)}`,
    );
  }
  return { data, tokenizer, seqLen };
}

/** Optimizer steps in all: the spec's, or what its epochs come to over these rows. */
export const stepsOf = (spec: TrainSpec, trainRows: number): number =>
  spec.epochs ? Math.ceil((spec.epochs * trainRows) / (spec.batch * spec.gradAccum)) : spec.steps;

/** The batches of a run, from `position` in its data order (a resume carries it on). */
export function batchSampler(spec: TrainSpec, t: TrainingData, position: number): BatchSampler {
  const padId = t.tokenizer.padTokenId ?? t.tokenizer.eosTokenIds[0] ?? 0;
  return new BatchSampler(
    t.data.train.map((e) => e.ids),
    spec.batch,
    t.seqLen,
    spec.seed,
    padId,
    position,
    t.data.train.map((e) => e.mask),
    batchTargets(t.data),
  );
}

/** A masked LM's targets beyond ids and masks (none for a causal LM). */
export function batchTargets(data: Dataset, held = false): BatchTargets {
  const objective = data.objective;
  if (!objective) return {};
  const rows = held ? data.eval : data.train;
  return {
    ...(rows[0]?.labels && { labels: rows.map((e) => e.labels!) }),
    ...(objective.kind === 'label-words' && { labelWords: objective.ids }),
    ...(objective.kind === 'mlm' && !held && { mlm: objective.masking }),
  };
}

/**
 * Step 3b: the model a masked LM's run trains: with --no-template, a fresh classification head
 * (always trainable) in place of the MLM head, whose own weights then rest.
 */
export function taskModel(pm: PeftModel, data: Dataset, seed: number): PeftModel {
  const objective = data.objective;
  if (objective?.kind !== 'head') return pm;
  const { model } = pm;
  if (model.prefix) return { ...pm, model: withClassifier(model) }; // refuses, saying why
  const reads = new Set(model.partParams('embed'));
  for (let i = 0; i < model.config.layers; i++) model.partParams(i).forEach((n) => reads.add(n));
  for (const name of model.partParams('head')) {
    if (!reads.has(name)) model.params.get(name).trainable = false;
  }
  if (!model.params.has(CLASSIFIER_WEIGHT)) {
    addClassifier(model.params, model.config.hidden, objective.classes, seed);
  }
  return { ...pm, model: withClassifier(model) };
}

/** Step 4: the method, with the adapter's dropout and AdaLoRA's budget (over `steps`) around it. */
export function buildMethod(
  spec: TrainSpec,
  pm: PeftModel,
  pagedOptim: boolean,
  steps: number,
): TrainMethod {
  // AdaLoRA: the budget schedule spans this run's steps; its hooks see every step's gradients.
  const allocator = pm.adalora && new AdaLoraAllocator(pm.model.params, pm.adalora, steps);
  const method = withDropout(
    createMethod(pm.model, {
      ...spec,
      pagedOptim,
      ...(allocator && { hooks: allocator.hooks() }),
    }),
    pm.dropout,
    pm.spec.lora.dropout,
  );
  return allocator ? withAdaLora(method, allocator) : method;
}

/**
 * Step 5: the update history of a replayable zeroth-order run, and for a resume the checkpoint's
 * weights and method state restored.
 */
export async function restore(
  run: RunDir,
  model: CausalLM,
  method: TrainMethod,
  checkpoint: LoadedCheckpoint | undefined,
): Promise<ZoHistoryFile | undefined> {
  const zoHistory =
    method instanceof ZoMethod && method.replayable
      ? new ZoHistoryFile(run.dir, method)
      : undefined;
  if (!checkpoint) return zoHistory;
  await zoHistory?.load(); // before the restore, which cuts it to the checkpoint's records
  await restoreCheckpoint(checkpoint, model.params, method);
  const records = Number(checkpoint.state.method.records ?? 0);
  if (zoHistory && !(await zoHistory.checkRestored(records))) {
    log.warn(
      `${run.dir}: the update history ends before the checkpoint (the run was stopped while saving); training goes on without a replayable history.`,
    );
  }
  return zoHistory;
}
