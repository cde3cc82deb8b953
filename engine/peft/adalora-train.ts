// AdaLoRA during training: the orthogonality regulariser, the importance each step's gradients
// (or a zeroth-order method's estimate of them) feed, and the budget allocation after each step.
// Methods see it through StepHooks (optim/method.ts); withAdaLora wraps the method so the
// allocation follows every step and its state (Ī, Ū, the rank pattern) goes into checkpoints.
// Backprop methods add the regulariser's gradient to the loss's. Zeroth-order methods estimate
// the task loss's gradient only and take the regulariser's exact (closed-form) gradient as a
// plain step θ ← θ − η∇R after their update: in the loss they compare it would dominate every
// projected gradient at AdaLoRA's start (P, Q ≈ 0 make ‖PᵀP − I‖ ≈ √r while the task's signal in
// λ is O(0.02²)) and no run learned.
import { tf, type Scalar, type Tensor, type Tensor2D, type Variable } from '../backend/tf.js';
import type { Params } from '../models/params.js';
import type { MethodState, Regularizer, StepHooks, TrainMethod } from '../optim/method.js';
import { isZerothOrder } from '../protocol.js';
import {
  adaE,
  adaP,
  adaQ,
  patternKey,
  rankPattern,
  setPattern,
  zeroPruned,
  type AdaLoraModel,
} from './adalora.js';
import {
  budgetAt,
  budgetSchedule,
  Importance,
  pruneLowest,
  tripletScores,
  type BudgetSchedule,
} from './adalora-budget.js';

/** ‖M Mᵀ − I‖_F for Q [r, in] (`rows`) or ‖Mᵀ M − I‖_F for P [out, r]. */
function gramDeviation(m: Tensor2D, rows: boolean): Tensor2D {
  const gram = rows ? tf.matMul<Tensor2D>(m, m, false, true) : tf.matMul<Tensor2D>(m, m, true);
  return tf.sub<Tensor2D>(gram, tf.eye(gram.shape[0]));
}

/**
 * R = w · mean over the adapters' Q and P matrices of ‖QQᵀ − I‖_F and ‖PᵀP − I‖_F, as PEFT's
 * AdaLoraModel.forward adds it (it averages over the 2M matrices). ∂‖D‖_F/∂Q = 2 D Q / ‖D‖_F with
 * D = QQᵀ − I, and 2 P D / ‖D‖_F with D = PᵀP − I.
 */
export function orthRegularizer(params: Params, model: AdaLoraModel, weight: number): Regularizer {
  const names = [...model.modules.keys()];
  const c = weight / (2 * names.length);
  const roles = new Map<string, boolean>([
    ...names.map((n): [string, boolean] => [adaQ(n), true]),
    ...names.map((n): [string, boolean] => [adaP(n), false]),
  ]);
  return {
    async value() {
      const total = tf.tidy(() =>
        tf.mul<Scalar>(
          tf.addN(
            [...roles].map(([name, rows]) =>
              tf.norm(gramDeviation(params.get(name) as Tensor2D, rows)),
            ),
          ),
          c,
        ),
      );
      const v = ((await total.data()) as Float32Array)[0]!;
      total.dispose();
      return v;
    },
    gradient(name) {
      const rows = roles.get(name);
      if (rows === undefined) return undefined;
      return tf.tidy(() => {
        const m = params.get(name) as Tensor2D;
        const d = gramDeviation(m, rows);
        const product = rows ? tf.matMul(d, m) : tf.matMul(m, d);
        return tf.mul(product, tf.div(2 * c, tf.maximum(tf.norm(d), 1e-12)));
      });
    },
  };
}

export interface AdaLoraStateJson {
  step: number;
  final: boolean;
  totalStep: number;
  tinit: number;
  tfinal: number;
  rankPattern: Record<string, boolean[]>;
}

export class AdaLoraAllocator {
  readonly importance: Importance;
  readonly schedule: BudgetSchedule;
  readonly regularizer: Regularizer | undefined;
  /** Completed steps. */
  private t = 0;
  /** Past T − tfinal: the pattern no longer changes. */
  private final = false;

  constructor(
    private readonly params: Params,
    private readonly model: AdaLoraModel,
    totalStep: number,
  ) {
    this.schedule = budgetSchedule(model.options, totalStep, model.modules.size);
    Object.assign(model.options, {
      totalStep,
      tinit: this.schedule.tinit,
      tfinal: this.schedule.tfinal,
    });
    const shapes = new Map<string, number[]>();
    for (const name of model.modules.keys())
      for (const p of [adaQ(name), adaE(name), adaP(name)]) shapes.set(p, params.get(p).shape);
    this.importance = new Importance(shapes, model.options.beta1, model.options.beta2);
    const { orthReg } = model.options;
    this.regularizer = orthReg > 0 ? orthRegularizer(params, model, orthReg) : undefined;
  }

  hooks(): StepHooks {
    return {
      ...(this.regularizer && { regularizer: this.regularizer }),
      observe: (grads) => this.observe(grads),
    };
  }

  /** Zeroth-order methods: θ ← θ − η∇R for every Q and P. */
  regularizerStep(lr: number): void {
    const r = this.regularizer;
    if (!r) return;
    for (const name of this.model.modules.keys())
      for (const p of [adaQ(name), adaP(name)]) {
        const v = this.params.get(p);
        const g = r.gradient(p)!;
        tf.tidy(() => v.assign(tf.sub(v, tf.mul(g, lr))));
        g.dispose();
      }
  }

  /** Importance is gathered through step T − tfinal, when the final pattern is decided. */
  observe(grads: Map<string, Tensor>): void {
    if (this.final || this.t + 1 > this.schedule.totalStep - this.schedule.tfinal) return;
    for (const [name, g] of grads) this.importance.update(name, this.params.get(name), g);
  }

  /** After step t: prune to the schedule's budget when it says so, and keep pruned λ at zero. */
  async afterStep(): Promise<void> {
    this.t++;
    if (!this.final) {
      const { budget, prune } = budgetAt(this.schedule, this.t);
      if (this.t >= this.schedule.totalStep - this.schedule.tfinal) this.final = true;
      if (prune) await this.pruneTo(budget);
    }
    for (const m of this.model.modules.values()) zeroPruned(this.params, m);
  }

  /** The triplet scores of every module, in module order. */
  async scores(): Promise<number[][]> {
    const out: number[][] = [];
    for (const name of this.model.modules.keys()) {
      const s = tf.tidy(() =>
        tripletScores(
          this.importance.score(adaQ(name)) as Tensor2D,
          this.importance.score(adaE(name)) as Tensor2D,
          this.importance.score(adaP(name)) as Tensor2D,
        ),
      );
      out.push(Array.from((await s.data()) as Float32Array));
      s.dispose();
    }
    return out;
  }

  async pruneTo(budget: number): Promise<void> {
    const keep = pruneLowest(await this.scores(), this.schedule.initBudget - budget);
    [...this.model.modules.values()].forEach((m, i) => setPattern(this.params, m, keep[i]!));
  }

  stateVariables(): Map<string, Variable> {
    const out = new Map<string, Variable>();
    for (const [n, v] of this.importance.ipt) out.set(`adalora.ipt.${n}`, v);
    for (const [n, v] of this.importance.unc) out.set(`adalora.unc.${n}`, v);
    return out;
  }

  stateJson(): AdaLoraStateJson {
    const { totalStep, tinit, tfinal } = this.schedule;
    return {
      step: this.t,
      final: this.final,
      totalStep,
      tinit,
      tfinal,
      rankPattern: rankPattern(this.model),
    };
  }

  restoreJson(json: Partial<AdaLoraStateJson> | undefined): void {
    this.t = Number(json?.step ?? 0);
    this.final = json?.final === true;
    if (json?.rankPattern) applyRankPattern(this.params, this.model, json.rankPattern);
  }

  dispose(): void {
    this.importance.dispose();
  }
}

/** Set every module's kept ranks from a rank pattern (modules it does not name keep all). */
export function applyRankPattern(
  params: Params,
  model: AdaLoraModel,
  pattern: Record<string, boolean[]>,
): void {
  for (const [name, m] of model.modules) {
    const p = pattern[patternKey(name)];
    if (p) setPattern(params, m, p);
  }
}

/** `method` with the allocation after every step and AdaLoRA's state in its checkpoints. */
export function withAdaLora(method: TrainMethod, allocator: AdaLoraAllocator): TrainMethod {
  const zeroth = isZerothOrder(method.name);
  return {
    name: method.name,
    step: async (batches, lr) => {
      // The loss reported includes R for every method (backprop ones add it themselves).
      const penalty = zeroth ? ((await allocator.regularizer?.value()) ?? 0) : 0;
      const result = await method.step(batches, lr);
      if (zeroth) allocator.regularizerStep(lr);
      await allocator.afterStep();
      return { ...result, loss: result.loss + penalty };
    },
    state: (): MethodState => {
      const inner = method.state();
      return {
        variables: new Map([...inner.variables, ...allocator.stateVariables()]),
        json: { ...inner.json, adalora: allocator.stateJson() },
      };
    },
    restoreJson: (json) => {
      method.restoreJson(json);
      allocator.restoreJson(json.adalora as Partial<AdaLoraStateJson> | undefined);
    },
    dispose: () => {
      method.dispose();
      allocator.dispose();
    },
  };
}
