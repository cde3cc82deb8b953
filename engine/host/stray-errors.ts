// Errors no job awaited: a wasm trap thrown from a callback, a promise rejected with nobody
// listening. Left alone they kill the process with no error event (and, with emscripten's
// handlers, Node's exit code 7). Here they end the running job with an error event and a hint,
// then the process exits: the backend's memory may be corrupt, so nothing runs on it again.
import { noteHeapFault } from '../backend/heap-fault.js';
import { toErrorInfo, type ErrorInfo } from '../errors.js';

/** Exit status after a stray error: a failed job, as the CLI's own failures. */
export const STRAY_ERROR_EXIT_CODE = 1;

/**
 * Install process-level handlers. `report` sends the error event (and flushes); `exit` is called
 * once afterwards. Returns a function that removes the handlers.
 */
export function handleStrayErrors(
  report: (info: ErrorInfo) => void,
  exit: (code: number) => void,
): () => void {
  let handled = false;
  const handler = (err: unknown) => {
    if (handled) return; // one error event per job; the process is on its way out
    handled = true;
    noteHeapFault(err);
    report(toErrorInfo(err));
    exit(STRAY_ERROR_EXIT_CODE);
  };
  process.on('uncaughtException', handler);
  process.on('unhandledRejection', handler);
  return () => {
    process.off('uncaughtException', handler);
    process.off('unhandledRejection', handler);
  };
}
