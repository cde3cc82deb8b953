// The axes of a method comparison, shared by the engine's grid (engine/sweep/grid.ts) and the
// studio's checkboxes: ZO-Bench's optimizers and schemes, and the pairs that cannot train.
import {
  isBlockwise,
  isPromptKind,
  isZerothOrder,
  type MethodName,
  type PeftKind,
} from './methods.js';

/** ZO-Bench's optimizers, in its table's order: the default rows. */
export const SWEEP_METHODS = [
  'fo-sgd',
  'fo-adamw',
  'forward-grad',
  'zo-sgd',
  'zo-sign',
  'zo-mmt',
  'zo-cons',
  'zo-adam',
] as const satisfies readonly MethodName[];

/** ZO-Bench's schemes (`full` is fine-tuning every weight): the default columns. */
export const SWEEP_SCHEMES = [
  'full',
  'lora',
  'prefix',
  'prompt',
] as const satisfies readonly PeftKind[];

/** A method × scheme pair the engine cannot train, and why (the table's cell says n/a). */
export function notApplicable(method: MethodName, scheme: PeftKind): string | undefined {
  if (isPromptKind(scheme) && isBlockwise(method))
    return `${method} updates weights during its backward; ${scheme} tuning has none to update`;
  return undefined;
}

/**
 * Steps of a backprop method when none is given. MeZO trains RoBERTa-large for 1k steps with
 * backprop and 100k with zeroth-order methods; ZO-Bench 20k zeroth-order. A one-direction
 * estimate needs many more steps, so those methods (forward-grad too) get ZO_STEP_FACTOR times as
 * many; the ratio is kept at 10 (not 100) so a whole grid on a small model takes minutes.
 */
export const SWEEP_FO_STEPS = 40;
export const ZO_STEP_FACTOR = 10;

/** A cell's steps from the backprop methods' count. */
export const sweepSteps = (method: MethodName, foSteps = SWEEP_FO_STEPS): number =>
  isZerothOrder(method) ? foSteps * ZO_STEP_FACTOR : foSteps;
