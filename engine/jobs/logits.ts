// `whetstone logits`: logits [B, T, V] for given token ids, written as safetensors, so the
// engine can be checked against other implementations of the same model.
import { readFile } from 'node:fs/promises';
import { WhetstoneError } from '../errors.js';
import { tf } from '../backend/tf.js';
import { writeSafetensors } from '../io/safetensors-writer.js';
import { forwardLogits } from '../models/causal-lm.js';
import { loadModel } from '../models/load.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';
import { inferenceFit } from './fit-needs.js';

type LogitsSpec = Extract<JobSpec, { kind: 'logits' }>;

export async function logitsJob(spec: LogitsSpec, ctx: JobContext): Promise<JobResult<'logits'>> {
  const sequences = await readIds(spec.ids);
  const t = Math.max(...sequences.map((s) => s.length));
  await ctx.backend(await inferenceFit(spec.model, 1, t, 'the logits job'));
  const model = await loadModel(spec.model, {
    onTensor: (done, total) => ctx.progress('load', done, total),
  });
  try {
    const vocab = model.config.vocabSize;
    checkIds(sequences, vocab, model.config.contextLength, spec.ids);
    const b = sequences.length;
    const t = Math.max(...sequences.map((s) => s.length));
    // Each sequence runs alone at its own length, so no padding can touch its logits; positions
    // past a sequence's end stay zero and `lengths` says where each one ends.
    const logits = new Float32Array(b * t * vocab);
    const ids = new Int32Array(b * t);
    for (const [row, seq] of sequences.entries()) {
      const out = tf.tidy(() => forwardLogits(model, tf.tensor2d(seq, [1, seq.length], 'int32')));
      logits.set(await out.data(), row * t * vocab);
      out.dispose();
      ids.set(seq, row * t);
      ctx.progress('logits', row + 1, b);
    }
    await writeSafetensors(
      spec.out,
      [
        { name: 'logits', shape: [b, t, vocab], dtype: 'F32', data: logits },
        { name: 'input_ids', shape: [b, t], dtype: 'I32', data: ids },
        {
          name: 'lengths',
          shape: [b],
          dtype: 'I32',
          data: Int32Array.from(sequences.map((s) => s.length)),
        },
      ],
      { producer: 'whetstone', model: spec.model },
    );
    return { fields: { out: spec.out, shape: [b, t, vocab] }, weightBytes: model.params.bytes() };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}

async function readIds(file: string): Promise<number[][]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Cannot read ${file} as JSON: ${(err as Error).message}`,
      'Write the ids as [[1, 2, 3], [4, 5]].',
    );
  }
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((s) => Array.isArray(s) && s.length > 0 && s.every((x) => Number.isInteger(x)));
  if (!ok)
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${file} must hold a non-empty list of non-empty lists of integer token ids.`,
      'Write the ids as [[1, 2, 3], [4, 5]].',
    );
  return value as number[][];
}

function checkIds(sequences: number[][], vocab: number, context: number, file: string): void {
  for (const [row, seq] of sequences.entries()) {
    const bad = seq.find((id) => id < 0 || id >= vocab);
    if (bad !== undefined)
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${file}: sequence ${row} has token id ${bad}, outside the vocabulary [0, ${vocab}).`,
      );
    if (seq.length > context)
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${file}: sequence ${row} has ${seq.length} tokens; the model's context is ${context}.`,
      );
  }
}
