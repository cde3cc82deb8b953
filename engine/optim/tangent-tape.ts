// Forward-mode differentiation of whatever tfjs code runs inside `run`: every kernel's output
// gets its tangent as soon as the kernel has run (jvp-rules.ts), so tangents flow through the
// forward pass beside the activations and no graph is stored. A tangent lives exactly as long
// as its activation: disposing the activation (a tidy ending, a block's intermediates) disposes
// the tangent. Parameter tangents come from `paramTangent`, made when a kernel reads the
// parameter and freed right after, so at most one parameter-sized tangent exists at a time.
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Variable } from '../backend/tf.js';
import { jvpRules } from './jvp-rules.js';

type RunKernel = (
  name: string,
  inputs: tf.NamedTensorMap,
  attrs?: tf.NamedAttrMap,
) => Tensor | Tensor[];

interface PatchableEngine {
  runKernel: RunKernel;
  disposeTensor: (t: Tensor) => void;
}

export class TangentTape {
  private readonly tangents = new Map<number, Tensor>();
  private inRule = false;

  constructor(private readonly paramTangent: (v: Variable) => Tensor | undefined) {}

  /** Run `f` with tangents carried through every kernel; the engine is restored afterwards. */
  run<T>(f: () => T): T {
    const engine = tf.engine() as unknown as PatchableEngine;
    const ownRunKernel = Object.prototype.hasOwnProperty.call(engine, 'runKernel');
    const ownDispose = Object.prototype.hasOwnProperty.call(engine, 'disposeTensor');
    const runKernel = engine.runKernel;
    const disposeTensor = engine.disposeTensor;
    engine.runKernel = (name, inputs, attrs) => {
      const out = runKernel.call(engine, name, inputs, attrs);
      if (!this.inRule) this.differentiate(name, inputs, attrs ?? {}, out);
      return out;
    };
    engine.disposeTensor = (t: Tensor) => {
      disposeTensor.call(engine, t);
      // The handle is gone (its buffer may live on in others): its tangent goes with it.
      const tangent = this.tangents.get(t.id);
      if (tangent !== undefined) {
        this.tangents.delete(t.id);
        tangent.dispose();
      }
    };
    try {
      return f();
    } finally {
      if (ownRunKernel) engine.runKernel = runKernel;
      else delete (engine as Partial<PatchableEngine>).runKernel;
      if (ownDispose) engine.disposeTensor = disposeTensor;
      else delete (engine as Partial<PatchableEngine>).disposeTensor;
    }
  }

  /** The tangent of a tensor computed inside `run` (undefined: it does not depend on θ). */
  tangentOf(t: Tensor): Tensor | undefined {
    return this.tangents.get(t.id);
  }

  /** Free every tangent still held. */
  dispose(): void {
    for (const t of this.tangents.values()) t.dispose();
    this.tangents.clear();
  }

  private differentiate(
    kernel: string,
    inputs: tf.NamedTensorMap,
    attrs: tf.NamedAttrMap,
    out: Tensor | Tensor[],
  ): void {
    const outputs = Array.isArray(out) ? out : [out];
    const made: Tensor[] = [];
    const tangent = (name: string): Tensor | undefined => {
      const input = inputs[name];
      if (input === undefined) return undefined;
      if (input instanceof tf.Variable) {
        const t = this.paramTangent(input as Variable);
        if (t !== undefined) made.push(t);
        return t;
      }
      return this.tangents.get(input.id);
    };
    const anyTangent = Object.keys(inputs).some((name) => {
      const input = inputs[name]!;
      return input instanceof tf.Variable ? input.trainable : this.tangents.has(input.id);
    });
    if (!anyTangent) return;
    const rule = jvpRules[kernel];
    if (rule === undefined) {
      throw new WhetstoneError(
        'INTERNAL',
        `Forward-Grad has no forward-mode rule for the ${kernel} kernel, which this model uses.`,
        'Train this model with another method (zo-sgd has no such limit), or add the rule to engine/optim/jvp-rules.ts.',
      );
    }
    this.inRule = true;
    try {
      // Cloned, so that no two activations share a tangent handle (a clone shares the buffer).
      const results = tf.tidy(() =>
        rule({ kernel, inputs, attrs, outputs, tangent }).map((t, i) =>
          t === undefined
            ? undefined
            : tf.clone(
                t.shape.join() === outputs[i]!.shape.join()
                  ? t
                  : tf.broadcastTo(t, outputs[i]!.shape),
              ),
        ),
      );
      results.forEach((t, i) => {
        if (t === undefined) return;
        this.tangents.set(outputs[i]!.id, tf.keep(t));
      });
    } finally {
      this.inRule = false;
      for (const t of made) t.dispose();
    }
  }
}
