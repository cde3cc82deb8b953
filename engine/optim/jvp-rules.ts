// Forward-mode derivative rules, one per tfjs kernel the models run: given the kernel's inputs,
// attributes, outputs and the tangents of its inputs, the tangents of its outputs. Each sits beside
// the kernel it differentiates as the forward would (forward and JVP side by side,
// docs/methods.md#forward-grad). Kernels linear in their first input reuse the kernel on the
// tangent.
import { tf, type Tensor } from '../backend/tf.js';

export interface RuleArgs {
  kernel: string;
  inputs: Record<string, Tensor>;
  attrs: tf.NamedAttrMap;
  outputs: Tensor[];
  /** Tangent of an input by its kernel input name (undefined: zero). */
  tangent(input: string): Tensor | undefined;
}

/** Output tangents, or undefined where the output is constant in the inputs. */
export type JvpRule = (a: RuleArgs) => (Tensor | undefined)[];

const run = (a: RuleArgs, inputs: Record<string, Tensor>): Tensor[] => {
  const out = tf.engine().runKernel<Tensor | Tensor[]>(a.kernel, inputs, a.attrs);
  return Array.isArray(out) ? out : [out];
};

/** Kernels linear in input `x` (others fixed): the tangent is the kernel applied to x's tangent. */
const linearIn =
  (name: string): JvpRule =>
  (a) => {
    const t = a.tangent(name);
    return t === undefined ? [] : run(a, { ...a.inputs, [name]: t });
  };

/** Unary elementwise ops: tangent = f'(x, y) · tx. */
const unary =
  (derivative: (x: Tensor, y: Tensor) => Tensor): JvpRule =>
  (a) => {
    const t = a.tangent('x');
    return t === undefined ? [] : [tf.mul(derivative(a.inputs.x!, a.outputs[0]!), t)];
  };

/** A tangent of an operand broadcast to the output's shape. */
const spread = (t: Tensor, like: Tensor) =>
  t.shape.join() === like.shape.join() ? t : tf.broadcastTo(t, like.shape);

/** Sum of the terms that exist (each already the output's shape after broadcasting). */
function sumOf(terms: (Tensor | undefined)[], like: Tensor): Tensor | undefined {
  const present = terms.filter((t): t is Tensor => t !== undefined);
  if (present.length === 0) return undefined;
  return spread(
    present.reduce((s, t) => tf.add(s, t)),
    like,
  );
}

const constant: JvpRule = () => [];

export const jvpRules: Record<string, JvpRule> = {
  Identity: linearIn('x'),
  Reshape: linearIn('x'),
  Transpose: linearIn('x'),
  Slice: linearIn('x'),
  StridedSlice: linearIn('x'),
  SplitV: linearIn('x'),
  Sum: linearIn('x'),
  Mean: linearIn('x'),
  Neg: linearIn('x'),
  BroadcastTo: linearIn('x'),
  Tile: linearIn('x'),
  ExpandDims: linearIn('input'),
  GatherV2: linearIn('x'),
  Cast: (a) => (a.attrs.dtype === 'float32' ? linearIn('x')(a) : []),

  // Inputs '0', '1', … (an array, as the kernel takes them): the tangents joined the same way,
  // zeros for inputs without one.
  Concat: (a) => {
    const names = Object.keys(a.inputs);
    if (names.every((n) => a.tangent(n) === undefined)) return [];
    const zeros: Tensor[] = [];
    const tangents = names.map((n) => {
      const t = a.tangent(n);
      if (t) return t;
      const z = tf.zerosLike(a.inputs[n]!);
      zeros.push(z);
      return z;
    });
    const out = run(a, tangents as unknown as Record<string, Tensor>);
    tf.dispose(zeros);
    return out;
  },
  Add: (a) => [sumOf([a.tangent('a'), a.tangent('b')], a.outputs[0]!)],
  Sub: (a) => {
    const tb = a.tangent('b');
    return [sumOf([a.tangent('a'), tb && tf.neg(tb)], a.outputs[0]!)];
  },
  Multiply: (a) => {
    const { a: x, b: y } = a.inputs as { a: Tensor; b: Tensor };
    const ta = a.tangent('a');
    const tb = a.tangent('b');
    return [sumOf([ta && tf.mul(ta, y), tb && tf.mul(x, tb)], a.outputs[0]!)];
  },
  RealDiv: (a) => {
    const { b: y } = a.inputs as { a: Tensor; b: Tensor };
    const ta = a.tangent('a');
    const tb = a.tangent('b');
    // d(x/y) = dx/y − (x/y)·dy/y
    return [
      sumOf(
        [ta && tf.div(ta, y), tb && tf.neg(tf.div(tf.mul(a.outputs[0]!, tb), y))],
        a.outputs[0]!,
      ),
    ];
  },
  BatchMatMul: (a) => {
    const ta = a.tangent('a');
    const tb = a.tangent('b');
    const terms = [
      ta && run(a, { a: ta, b: a.inputs.b! })[0],
      tb && run(a, { a: a.inputs.a!, b: tb })[0],
    ];
    return [sumOf(terms, a.outputs[0]!)];
  },

  Square: unary((x) => tf.mul(x, 2)),
  Sqrt: unary((_, y) => tf.div(0.5, y)),
  Rsqrt: unary((_, y) => tf.mul(tf.pow(y, 3), -0.5)),
  Exp: unary((_, y) => y),
  Log: unary((x) => tf.reciprocal(x)),
  Sigmoid: unary((_, y) => tf.mul(y, tf.sub(1, y))),
  Tanh: unary((_, y) => tf.sub(1, tf.square(y))),
  Relu: unary((x) => tf.cast(tf.greater(x, 0), 'float32')),
  // Exact GELU (BERT, RoBERTa): d erf(x)/dx = 2/√π · exp(−x²).
  Erf: unary((x) => tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI))),

  Softmax: (a) => {
    const t = a.tangent('logits');
    if (t === undefined) return [];
    const y = a.outputs[0]!;
    return [tf.mul(y, tf.sub(t, tf.sum(tf.mul(y, t), -1, true)))];
  },
  Max: (a) => {
    // The tangent at the maximum (averaged over ties).
    const t = a.tangent('x');
    if (t === undefined) return [];
    const x = a.inputs.x!;
    const axes = a.attrs.reductionIndices as number | number[];
    const keep = a.attrs.keepDims as boolean;
    const atMax = tf.cast(tf.equal(x, tf.max(x, axes, true)), 'float32');
    return [tf.div(tf.sum(tf.mul(atMax, t), axes, keep), tf.sum(atMax, axes, keep))];
  },

  OnesLike: constant,
  ZerosLike: constant,
  Range: constant,
  Fill: constant,
  Equal: constant,
  NotEqual: constant,
  Greater: constant,
  Less: constant,
  GreaterEqual: constant,
  LessEqual: constant,
  ArgMax: constant,
};
