// LoRA dropout belongs to backprop steps only: zeroth-order forwards, evaluation and exports run
// the adapter deterministically. This wraps a method so dropout is on exactly during its steps.
import type { TrainMethod } from '../optim/method.js';
import { zoMethodNames } from '../protocol.js';
import type { DropoutSwitch } from './lora.js';

export function withDropout(method: TrainMethod, mode: DropoutSwitch, rate: number): TrainMethod {
  if (rate === 0 || (zoMethodNames as readonly string[]).includes(method.name)) return method;
  return {
    name: method.name,
    step: async (batches, lr) => {
      mode.training = true;
      try {
        return await method.step(batches, lr);
      } finally {
        mode.training = false;
      }
    },
    state: () => method.state(),
    restoreJson: (json) => method.restoreJson(json),
    dispose: () => method.dispose(),
  };
}
