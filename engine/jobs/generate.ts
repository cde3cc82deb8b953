// `whetstone generate`: load a model and its tokenizer, continue a prompt, stream the text.
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { generateTokens } from '../models/generate.js';
import { loadModel } from '../models/load.js';
import { loadRunModel } from '../export/run-model.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';
import { inferenceFit } from './fit-needs.js';

type GenerateSpec = Extract<JobSpec, { kind: 'generate' }>;

export async function generateJob(
  spec: GenerateSpec,
  ctx: JobContext,
): Promise<JobResult<'generate'>> {
  await ctx.backend(await inferenceFit(spec.model, 1, undefined, 'generation'));
  const tokenizer = await loadTokenizer(spec.model);
  const promptIds = encodePrompt(tokenizer, spec.prompt, spec.chat);
  // A run's model carries its adapter, or its prefix or prompt (not expressible as merged weights).
  const model = spec.run
    ? (await loadRunModel(spec.run, spec.model)).pm.model
    : await loadModel(spec.model, {
        onTensor: (done, total) => ctx.progress('load', done, total),
      });
  try {
    const weightBytes = model.params.bytes();
    const stopTokenIds = [...new Set([...model.config.eosTokenIds, ...tokenizer.eosTokenIds])];
    const newIds: number[] = [];
    let shown = '';
    const started = performance.now();
    let firstTokenAt = started;
    const result = await generateTokens(model, promptIds, {
      ...spec,
      stopTokenIds,
      onToken: (id, index) => {
        if (index === 0) firstTokenAt = performance.now();
        newIds.push(id);
        // Decode the whole continuation and send the new part: byte-level tokens can split a
        // character, so hold back text that ends in an incomplete sequence.
        const text = tokenizer.decode(newIds, { skipSpecialTokens: true });
        const delta = text.endsWith('\uFFFD') ? '' : text.slice(shown.length);
        if (delta !== '') shown = text;
        ctx.emit({ type: 'token', index, id, text: delta });
      },
    });
    const finished = performance.now();
    const decodeSteps = Math.max(0, result.ids.length - 1);
    return {
      fields: {
        text: tokenizer.decode(result.ids, { skipSpecialTokens: true }),
        promptTokens: promptIds.length,
        newTokens: result.ids.length,
        ids: result.ids,
        stoppedBy: result.stoppedBy,
        prefillMs: Math.round(firstTokenAt - started),
        tokensPerSecond: decodeSteps > 0 ? decodeSteps / ((finished - firstTokenAt) / 1000) : 0,
      },
      weightBytes,
    };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}

function encodePrompt(tokenizer: TextTokenizer, prompt: string, chat: boolean): number[] {
  if (!chat) return tokenizer.encode(prompt, { addSpecialTokens: true });
  // The template writes its own special tokens; adding them again would double the BOS.
  const rendered = tokenizer.renderChat([{ role: 'user', content: prompt }], {
    addGenerationPrompt: true,
  });
  return tokenizer.encode(rendered, { addSpecialTokens: false });
}
