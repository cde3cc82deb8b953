// llama.cpp as an oracle, run in a child process (a malformed GGUF can abort it): reads a
// request JSON file named on the command line, prints one JSON answer. Built into dist/ by
// `tsc -b`; test/gguf/llama-cpp.ts runs it.
//   node dist/test/gguf/llama-cpp-worker.js request.json | --probe
import { readFileSync } from 'node:fs';
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type Token } from 'node-llama-cpp';

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
const request = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as OracleRequest;
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
// Keys and values cached in F32 (llama.cpp's default is F16), so an F32 file is compared in F32.
const context = await model.createContext({
  contextSize: 256,
  sequences: 1,
  threads: 2,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});
const sequence = context.getSequence();
const answer: OracleAnswer = {
  bos: model.tokens.bos,
  eos: model.tokens.eos,
  addBos: model.tokens.shouldPrependBosToken,
  // node-llama-cpp's own reading of the file's tokenizer.chat_template.
  chatTemplate: model.fileInfo.metadata.tokenizer?.chat_template ?? null,
};

const everything = { temperature: 1, topK: 0, topP: 1, minP: 0 };

/** log p(next) over the vocabulary after each prefix of `tokens` (those `at`), from scratch. */
async function logProbsAt(seq: LlamaContextSequence, tokens: number[], at: (i: number) => boolean) {
  await seq.clearHistory();
  const items = tokens.map((t, i) =>
    at(i) ? [t as Token, { generateNext: { probabilities: true, options: everything } }] : t,
  );
  const out = await seq.controlledEvaluate(items as Parameters<typeof seq.controlledEvaluate>[0]);
  const rows: number[][] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (!at(i)) continue;
    const row = new Array<number>(request.vocab).fill(-Infinity);
    for (const [token, p] of out[i]!.next.probabilities!) row[token] = Math.log(p);
    rows.push(row);
  }
  return rows;
}

const nextLogProbs = async (seq: LlamaContextSequence, prompt: number[]) =>
  (await logProbsAt(seq, prompt, (i) => i === prompt.length - 1))[0]!;

if (request.tokenize) {
  answer.tokens = request.tokenize.map((text) => [...model.tokenize(text, true)]);
}
if (request.logProbs) {
  answer.logProbs = [];
  for (const prompt of request.logProbs) answer.logProbs.push(await nextLogProbs(sequence, prompt));
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
  answer.greedy = [];
  for (let s = 0; s < steps; s++) {
    const token = out.at(-1)!.next.token!;
    answer.greedy.push(token);
    if (s < steps - 1) out = await sequence.controlledEvaluate([[token, next]]);
  }
}
if (request.nll) {
  answer.nll = [];
  for (const tokens of request.nll) {
    const rows = await logProbsAt(sequence, tokens, (i) => i < tokens.length - 1);
    let total = 0;
    for (let t = 1; t < tokens.length; t++) total -= rows[t - 1]![tokens[t]!]!;
    answer.nll.push(total / (tokens.length - 1));
  }
}
process.stdout.write(JSON.stringify(answer));
await context.dispose();
await model.dispose();
await llama.dispose();
