// Process memory beside the tensors, for backends whose device is host RAM (cpu, wasm, native):
// the Node runtime with tfjs and the engine loaded, the tokenizer's tables, and the loader's
// buffers while a tensor is read (its stored bytes and their float32 conversion).

/**
 * RSS of an engine process with its modules loaded and a backend started, before any model
 * (measured after a run on the 2-block fixture: 126 MB on wasm, 247 MB on cpu, whose freed
 * tensors wait for the garbage collector). With it, SmolLM2-135M's peak RSS was 0.88× the
 * estimate (ZO-SGD, cpu) and 0.99× (LOMO, wasm): `npm run bench:rss`.
 */
export const RUNTIME_BYTES = 160 * 1024 ** 2;
/** In-memory tables of @huggingface/tokenizers per byte of tokenizer.json (vocab and merges). */
export const TOKENIZER_BYTES_PER_FILE_BYTE = 8;

export interface HostOverheadInput {
  /** The largest tensor as stored on disk (bf16: half its float32 size). */
  largestStoredBytes: number;
  /** The largest weight in float32. */
  largestWeightBytes: number;
  tokenizerFileBytes: number;
}

export function hostOverheadBytes(input: HostOverheadInput): number {
  return (
    RUNTIME_BYTES +
    input.largestStoredBytes +
    input.largestWeightBytes +
    TOKENIZER_BYTES_PER_FILE_BYTE * input.tokenizerFileBytes
  );
}
