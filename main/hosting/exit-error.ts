// Turns an engine process that ended before its job did into an error a person can act on.
import type { ErrorInfo } from '../../engine/errors.js';
import type { EngineExit } from './engine-process.js';

const SMALLER =
  'Try a smaller batch or sequence length, a 4-bit base (QLoRA), or a zeroth-order method (MeZO), which needs little more than inference memory.';

/** `checkpointStep`: where a resume would continue, when the job was a training run. */
export function exitError(exit: EngineExit, checkpointStep?: number): ErrorInfo {
  const resume =
    checkpointStep === undefined
      ? ''
      : checkpointStep > 0
        ? ` Resume the run to continue from its checkpoint at step ${checkpointStep}.`
        : ' It had no checkpoint yet, so start it again.';
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  switch (exit.reason) {
    case 'oom':
      return {
        code: 'ENGINE_OOM',
        message: `The engine ran out of memory and stopped (${how}).`,
        hint: `${SMALLER}${resume}`,
      };
    case 'killed':
      return {
        code: 'ENGINE_CRASHED',
        message: `The engine was stopped from outside (${how}).`,
        hint: `If nobody stopped it, the system may have been short of memory: ${SMALLER}${resume}`,
      };
    case 'launch-failed':
      return {
        code: 'ENGINE_CRASHED',
        message: 'The engine process could not be started.',
        hint: 'Reinstall Whetstone, or run `npm run build` in a source checkout.',
      };
    default:
      return {
        code: 'ENGINE_CRASHED',
        message: `The engine stopped unexpectedly (${exit.reason}, ${how}).${
          lastLine(exit.stderrTail) ? ` Last output: ${lastLine(exit.stderrTail)}` : ''
        }`,
        hint: `The app and other runs are unaffected. ${SMALLER}${resume}`,
      };
  }
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .at(-1) ?? ''
  ).slice(0, 300);
}
