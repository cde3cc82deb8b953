// A model's parameters, keyed by their Hugging Face tensor names. Variables, so that optimizers
// can update them in place and zeroth-order methods can perturb and restore them.
import { WhetstoneError } from '../errors.js';
import { tf, type Variable } from '../backend/tf.js';

export class Params {
  private readonly byName = new Map<string, Variable>();

  /** Adopt `tensor` as the parameter `name`: the variable takes over its data (no copy). */
  add(name: string, tensor: tf.Tensor): Variable {
    if (this.byName.has(name))
      throw new WhetstoneError('INTERNAL', `Parameter ${name} added twice.`);
    const variable = tf.variable(tensor, false);
    tensor.dispose();
    this.byName.set(name, variable);
    return variable;
  }

  get(name: string): Variable {
    const variable = this.byName.get(name);
    if (variable === undefined) {
      throw new WhetstoneError('TENSOR_MISSING', `The model has no parameter named ${name}.`);
    }
    return variable;
  }

  /** Mark which parameters optimizers and `tf.variableGrads` may see (all by default). */
  setTrainable(predicate: (name: string) => boolean = () => true): void {
    for (const [name, variable] of this.byName) variable.trainable = predicate(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  entries(): IterableIterator<[string, Variable]> {
    return this.byName.entries();
  }

  /** Number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.byName.values()) n += v.size;
    return n;
  }

  /** Bytes held by the parameters on the backend (float32). */
  bytes(): number {
    let n = 0;
    for (const v of this.byName.values()) n += v.size * 4;
    return n;
  }

  dispose(): void {
    for (const v of this.byName.values()) v.dispose();
    this.byName.clear();
  }
}
