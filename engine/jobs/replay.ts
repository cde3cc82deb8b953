// `whetstone replay --run DIR --out MODEL`: rebuild a zeroth-order run's weights from its base
// model and its update history (zo-history.bin, a few dozen bytes a step), and write them as a
// Hugging Face folder. Same backend as the run gives the same bits (cpu and wasm share a kernel).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '../backend/tf.js';
import { WhetstoneError } from '../errors.js';
import { writeModelFolder } from '../io/model-folder-writer.js';
import { createLogger } from '../log.js';
import { loadAdapterWeights, readAdapterOptions } from '../peft/lora-adapter.js';
import { loraFields, type LoraOptions } from '../peft/config.js';
import { loadPeftModel, peftSpec } from '../peft/load.js';
import { mergeAdapter } from '../peft/merge.js';
import { refuseMerged } from '../peft/prompt-load.js';
import { isPromptKind } from '../peft/prompts.js';
import { HISTORY_FILE, ZoHistory } from '../optim/zo-history.js';
import { applyNoise, trainableTensors } from '../optim/zo-params.js';
import { trainSpecSchema, type JobSpec } from '../protocol.js';
import { RunDir } from '../train/run-dir.js';
import { runModelFit } from './fit-needs.js';
import type { JobContext, JobResult } from './run-job.js';

type ReplaySpec = Extract<JobSpec, { kind: 'replay' }>;

const log = createLogger('replay');

/** CPU backends whose NoiseAxpy gives the reference's bits, so their replays agree bit for bit. */
const bitExact = ['cpu', 'wasm', 'native'];
const sameKernel = (a: string, b: string) =>
  a === b || (bitExact.includes(a) && bitExact.includes(b));

export async function replayJob(spec: ReplaySpec, ctx: JobContext): Promise<JobResult<'replay'>> {
  const { spec: stored } = await RunDir.open(spec.run);
  const parsed = trainSpecSchema.safeParse(stored);
  if (!parsed.success) {
    throw new WhetstoneError('RUN_INVALID', `${spec.run}/spec.json is not a training spec.`);
  }
  if (parsed.data.peft === 'adalora') {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${spec.run} trained AdaLoRA, whose rank pruning and regulariser steps are not in a noise history, so it cannot be replayed.`,
      'Export the run’s last checkpoint instead.',
    );
  }
  const file = join(spec.run, HISTORY_FILE);
  const bytes = await readFile(file).catch(() => {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${spec.run} has no ${HISTORY_FILE}: only zo-sgd, zo-sign and zo-cons runs keep a replayable history.`,
      'Export the run’s last checkpoint instead.',
    );
  });
  const { header, history } = ZoHistory.decode(bytes, file);
  const report = await ctx.backend(await runModelFit(spec.run, spec.model, 'the replay'));
  if (!sameKernel(report.backend, header.backend)) {
    log.warn(
      `the run trained on ${header.backend} and this replay runs on ${report.backend}: the weights will agree to float32 rounding, not bit for bit (pass --backend ${header.backend}).`,
    );
  }
  // A PEFT run replays onto the same adapter initialisation (seeded) and is written merged.
  const run = parsed.data;
  if (isPromptKind(run.peft)) refuseMerged(run.peft);
  let lora: Partial<LoraOptions> = loraFields(run);
  if (run.initAdapter) lora = { ...lora, ...(await readAdapterOptions(run.initAdapter)) };
  const pm = await loadPeftModel(
    spec.model ?? run.model,
    peftSpec(run.peft, { ...lora, seed: run.seed }),
    { onTensor: (done, total) => ctx.progress('load', done, total) },
  );
  const { model } = pm;
  try {
    if (run.initAdapter) await loadAdapterWeights(run.initAdapter, pm);
    const names = new Set(header.tensors.map((t) => t.name));
    model.params.setTrainable((n) => names.has(n));
    const tensors = trainableTensors(model.params);
    const mismatch = header.tensors.find(
      (t, i) => tensors[i]?.name !== t.name || tensors[i].stream !== t.stream,
    );
    if (mismatch || tensors.length !== header.tensors.length) {
      throw new WhetstoneError(
        'RUN_INVALID',
        `The base model's tensors do not match the history's (first difference: ${mismatch?.name ?? 'count'}).`,
        'Replay onto the model the run was trained from (--model to point at it if it moved).',
      );
    }
    const count = spec.records ?? history.count;
    for (let i = 0; i < count; i++) {
      applyNoise(tensors, history.at(i));
      if (i % 16 === 0) {
        ctx.progress('replay', i, count);
        await tf.nextFrame(); // let a cancel in
        if (ctx.signal.aborted) throw new WhetstoneError('BAD_ARGUMENT', 'Replay cancelled.');
      }
    }
    const merged = pm.modules.size > 0 ? mergeAdapter(pm) : model.params;
    const { files } = await writeModelFolder({
      baseDir: spec.model ?? parsed.data.model,
      outDir: spec.out,
      params: merged,
      force: spec.force,
    }).finally(() => {
      if (merged !== model.params) merged.dispose();
    });
    return {
      fields: { out: spec.out, records: count, method: header.method, files },
      weightBytes: model.params.bytes(),
    };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}
