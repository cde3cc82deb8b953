// A wasm heap that overflowed or was written out of bounds cannot be trusted again: the module
// traps (RuntimeError "memory access out of bounds", or emscripten's "Aborted(...)"), possibly
// after tensors were overwritten. Such a fault ends the job, and the backend is not used again
// in this process (hosts start a fresh engine process per job).
import { isHeapFault, WhetstoneError } from '../errors.js';

let broken: string | undefined;

/** Record a fault: later jobs in this process refuse to run on the backend. */
export function noteHeapFault(err: unknown): void {
  if (!isHeapFault(err) || broken !== undefined) return;
  broken = err instanceof Error ? err.message : String(err);
}

/** Throws when an earlier fault left the backend's memory untrustworthy. */
export function assertBackendUsable(): void {
  if (broken === undefined) return;
  throw new WhetstoneError(
    'ENGINE_CRASHED',
    `An earlier job overflowed the tensor backend's memory (${broken}); its tensors cannot be trusted.`,
    'Start a new engine process (restart the app or the command) and run a smaller job.',
  );
}
