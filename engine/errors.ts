// Errors that reach a user: a closed set of codes, a message that says what went wrong, and a
// hint that says what to do next. Everything crossing a process boundary is one of these.

export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'BACKEND_UNAVAILABLE'
  | 'DEVICE_LIMIT'
  | 'DEVICE_LOST'
  | 'DEVICE_ERROR'
  | 'ENGINE_OOM'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_UNSUPPORTED'
  | 'MODEL_FILE_INVALID'
  | 'CONFIG_INVALID'
  | 'TENSOR_MISSING'
  | 'TENSOR_SHAPE_MISMATCH'
  | 'TOKENIZER_INVALID'
  | 'DATASET_INVALID'
  | 'TRAINING_DIVERGED'
  | 'RUN_INVALID'
  | 'ENGINE_CRASHED'
  | 'RUN_NOT_FOUND'
  | 'PATH_NOT_ALLOWED'
  | 'CLUSTER_UNAVAILABLE'
  | 'CLUSTER_JOB_ENDED'
  | 'UNKNOWN_CHANNEL'
  | 'UNAUTHORIZED'
  | 'INTERNAL';

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** An error with a code from the closed set and an optional hint for the user. */
export class WhetstoneError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'WhetstoneError';
  }

  toInfo(): ErrorInfo {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/**
 * A trap of the wasm module (RuntimeError "memory access out of bounds", or emscripten's
 * "Aborted(...)"), as opposed to an error a kernel threw on purpose.
 */
export function isHeapFault(err: unknown): boolean {
  // WebAssembly.RuntimeError, by name: the engine's type libraries do not declare WebAssembly.
  if (err instanceof Error && err.name === 'RuntimeError') return true;
  const message = err instanceof Error ? err.message : String(err);
  return /memory access out of bounds|^Aborted\(/.test(message);
}

/** Any thrown value as an ErrorInfo: known errors keep their code, the rest become INTERNAL. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof WhetstoneError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  // The wasm module traps when its heap overflows (4 GiB): the run cannot go on in this process.
  if (isHeapFault(err)) {
    return {
      code: 'ENGINE_OOM',
      message: `The wasm backend ran out of memory and stopped (${message}).`,
      hint: 'The run needs more than the wasm heap (4 GiB) holds: use --backend cpu, a shorter sequence or smaller batch, LoRA/QLoRA, or a zeroth-order method (whetstone estimate compares them).',
    };
  }
  if (/out of memory|OOM|Cannot allocate|Array buffer allocation failed/i.test(message)) {
    return {
      code: 'ENGINE_OOM',
      message,
      hint: 'Use a smaller batch or sequence length, a 4-bit base (QLoRA), or a zeroth-order method.',
    };
  }
  return { code: 'INTERNAL', message };
}
