// llama.cpp as an oracle, run in a child process (a malformed GGUF can abort it): reads a JSON
// list of requests from the file named on the command line, starting at index `from`, and prints
// one line `{"index": i, "answer" | "error": ...}` per request. Built into dist/ by `tsc -b`;
// test/gguf/llama-cpp.ts runs it.
//   node dist/test/gguf/llama-cpp-worker.js requests.json [from] | --probe
import { readFileSync } from 'node:fs';
import {
  getLlama,
  LlamaLogLevel,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';

export interface OracleRequest {
  model: string;
  /** Vocabulary size (log-probability rows are this long). */
  vocab: number;
  /** Texts to tokenize, special tokens parsed, no BOS added. */
  tokenize?: string[];
  /** Log-probabilities of every vocabulary entry after each prompt. */
  logProbs?: number[][];
  /** Greedy continuations of a prompt. */
  greedy?: { prompt: number[]; steps: number };
  /** Token sequences whose mean negative log-likelihood (of tokens 1..) is wanted. */
  nll?: number[][];
}

export interface OracleAnswer {
  bos: number | null;
  eos: number | null;
  addBos: boolean;
  chatTemplate: string | null;
  tokens?: number[][];
  logProbs?: number[][];
  greedy?: number[];
  nll?: number[];
}

const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
// `--probe`: only whether the prebuilt binary loads.
if (process.argv[2] === '--probe') process.exit(0);

const everything = { temperature: 1, topK: 0, topP: 1, minP: 0 };

async function answer(request: OracleRequest, model: LlamaModel): Promise<OracleAnswer> {
  // Keys and values cached in F32 (llama.cpp's default is F16): an F32 file is compared in F32.
  const context = await model.createContext({
    contextSize: 256,
    sequences: 1,
    // One thread: ggml's worker threads spin while they wait, which on a busy machine turns
    // milliseconds into seconds per evaluation.
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  try {
    const sequence = context.getSequence();
    const result: OracleAnswer = {
      bos: model.tokens.bos,
      eos: model.tokens.eos,
      addBos: model.tokens.shouldPrependBosToken,
      // node-llama-cpp's own reading of the file's tokenizer.chat_template.
      chatTemplate: model.fileInfo.metadata.tokenizer?.chat_template ?? null,
    };

    /** log p(next) over the vocabulary after each prefix of `tokens` (those `at`), afresh. */
    const logProbsAt = async (
      seq: LlamaContextSequence,
      tokens: number[],
      at: (i: number) => boolean,
    ) => {
      await seq.clearHistory();
      const items = tokens.map((t, i) =>
        at(i) ? [t as Token, { generateNext: { probabilities: true, options: everything } }] : t,
      );
      const out = await seq.controlledEvaluate(
        items as Parameters<typeof seq.controlledEvaluate>[0],
      );
      const rows: number[][] = [];
      for (let i = 0; i < tokens.length; i++) {
        if (!at(i)) continue;
        const row = new Array<number>(request.vocab).fill(-Infinity);
        for (const [token, p] of out[i]!.next.probabilities!) row[token] = Math.log(p);
        rows.push(row);
      }
      return rows;
    };

    if (request.tokenize) {
      result.tokens = request.tokenize.map((text) => [...model.tokenize(text, true)]);
    }
    if (request.logProbs) {
      result.logProbs = [];
      for (const prompt of request.logProbs) {
        result.logProbs.push(
          (await logProbsAt(sequence, prompt, (i) => i === prompt.length - 1))[0]!,
        );
      }
    }
    if (request.greedy) {
      // The prompt once, then one token per step on top of the cached keys and values.
      await sequence.clearHistory();
      const { prompt, steps } = request.greedy;
      const next = { generateNext: { token: true, options: { temperature: 0 } } };
      let out = await sequence.controlledEvaluate([
        ...(prompt.slice(0, -1) as Token[]),
        [prompt.at(-1)! as Token, next],
      ]);
      result.greedy = [];
      for (let s = 0; s < steps; s++) {
        const token = out.at(-1)!.next.token!;
        result.greedy.push(token);
        if (s < steps - 1) out = await sequence.controlledEvaluate([[token, next]]);
      }
    }
    if (request.nll) {
      result.nll = [];
      for (const tokens of request.nll) {
        const rows = await logProbsAt(sequence, tokens, (i) => i < tokens.length - 1);
        let total = 0;
        for (let t = 1; t < tokens.length; t++) total -= rows[t - 1]![tokens[t]!]!;
        result.nll.push(total / (tokens.length - 1));
      }
    }
    return result;
  } finally {
    await context.dispose();
  }
}

const requests = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as OracleRequest[];
for (let index = Number(process.argv[3] ?? 0); index < requests.length; index++) {
  let line: string;
  try {
    const model = await llama.loadModel({ modelPath: requests[index]!.model, gpuLayers: 0 });
    try {
      line = JSON.stringify({ index, answer: await answer(requests[index]!, model) });
    } finally {
      await model.dispose();
    }
  } catch (err) {
    line = JSON.stringify({ index, error: String(err) });
  }
  process.stdout.write(`${line}\n`);
}
await llama.dispose();
