// `whetstone info`: what a model folder holds, from config.json and the safetensors headers only
// (no weights are read, so it is instant even for large models).
import { loadTokenizer } from '../io/tokenizer.js';
import { checkModel, diskBytes, parameterCount } from '../models/load.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';

type InfoSpec = Extract<JobSpec, { kind: 'info' }>;

export async function infoJob(spec: InfoSpec, _ctx: JobContext): Promise<JobResult<'info'>> {
  const checked = await checkModel(spec.model);
  try {
    const { config } = checked;
    const parameters = parameterCount(checked.shapes);
    const storedDtypes = [
      ...new Set(
        [...checked.shapes.keys()].map((n) => checked.source.info(checked.stored(n)).dtype),
      ),
    ];
    const tokenizer = await loadTokenizer(spec.model).then(
      (t) => ({
        vocabSize: t.vocabSize,
        chatTemplate: t.chatTemplate !== undefined,
        bosTokenId: t.bosTokenId,
        eosTokenIds: t.eosTokenIds,
      }),
      (err: Error) => ({ error: err.message }),
    );
    return {
      fields: {
        modelType: config.modelType,
        family: config.family,
        parameters,
        layers: config.layers,
        hidden: config.hidden,
        heads: config.heads,
        kvHeads: config.kvHeads,
        headDim: config.headDim,
        vocab: config.vocabSize,
        contextLength: config.contextLength,
        tieWordEmbeddings: config.tieWordEmbeddings,
        weightBytes: parameters * 4,
        diskBytes: await diskBytes(checked.source),
        storedDtypes,
        torchDtype: config.torchDtype,
        files: checked.source.files,
        tokenizer,
      },
      weightBytes: parameters * 4,
    };
  } finally {
    await checked.source.close();
  }
}
