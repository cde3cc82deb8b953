// Errors that reach a user: a closed set of codes, a message that says what went wrong, and a
// hint that says what to do next. Everything crossing a process boundary is one of these.

export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'BACKEND_UNAVAILABLE'
  | 'DEVICE_LIMIT'
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

/** Any thrown value as an ErrorInfo: known errors keep their code, the rest become INTERNAL. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof WhetstoneError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  if (/out of memory|OOM|Cannot allocate|Array buffer allocation failed/i.test(message)) {
    return {
      code: 'ENGINE_OOM',
      message,
      hint: 'Use a smaller batch or sequence length, a 4-bit base (QLoRA), or a zeroth-order method.',
    };
  }
  return { code: 'INTERNAL', message };
}
