// Paged optimizer state: AdamW's moments kept in host memory (Float32Arrays) and moved onto the
// device one tensor at a time for its update, then read back, so the device holds at most one
// tensor's moments at once. The update itself is adamwUpdate, so paged and unpaged runs take
// identical steps. Whether a run pages (`--paged-optim auto|on|off`) is decided here as well.
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Variable } from '../backend/tf.js';
import { adamwUpdate, type AdamWOptions } from './updates.js';
import { hostMemoryBackends } from '../backend/types.js';

/** A tensor held in host memory, as checkpoints save and restore it. */
export interface HostTensor {
  shape: number[];
  values: Float32Array;
}

/** A device variable holding a copy of `h` (the caller disposes it). */
function upload(h: HostTensor): Variable {
  return tf.tidy(() => tf.variable(tf.tensor(h.values, h.shape, 'float32'), false));
}

async function download(v: Tensor, into: HostTensor): Promise<void> {
  into.values.set(await v.data());
}

/** AdamW's first and second moments of each parameter, in host memory. */
export class PagedAdamWState {
  private readonly moments = new Map<string, { m: HostTensor; v: HostTensor }>();

  constructor(params: [string, Variable][]) {
    for (const [name, p] of params) {
      const zeros = () => ({ shape: p.shape, values: new Float32Array(p.size) });
      this.moments.set(name, { m: zeros(), v: zeros() });
    }
  }

  /** One AdamW step of `param`: its moments in, updated, and back out before this returns. */
  async update(
    name: string,
    param: Variable,
    grad: Tensor,
    t: number,
    opts: AdamWOptions,
  ): Promise<void> {
    const host = this.moments.get(name);
    if (!host) throw new WhetstoneError('INTERNAL', `No paged AdamW state for "${name}".`);
    const state = { m: upload(host.m), v: upload(host.v) };
    try {
      adamwUpdate(param, grad, state, t, opts);
      await download(state.m, host.m);
      await download(state.v, host.v);
    } finally {
      state.m.dispose();
      state.v.dispose();
    }
  }

  /** The moments under their checkpoint names (those of the unpaged state: either resumes). */
  entries(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [name, { m, v }] of this.moments) {
      out.set(`adamw.m.${name}`, m);
      out.set(`adamw.v.${name}`, v);
    }
    return out;
  }

  /** Bytes held in host memory. */
  bytes(): number {
    let total = 0;
    for (const { m, v } of this.moments.values())
      total += m.values.byteLength + v.values.byteLength;
    return total;
  }
}

export type PagedMode = 'auto' | 'on' | 'off';

/** Under `auto`, page when the unpaged estimate needs more than this share of free device memory. */
export const AUTO_PAGE_SHARE = 0.9;

export interface PagingFacts {
  mode: PagedMode;
  method: string;
  /** The backend in use (cpu, wasm, webgpu, tensorflow). */
  backend: string;
  /** The estimated peak without paging. */
  peakBytes: number;
  /** Free device memory, where the driver tells (nvidia-smi for tensorflow on a GPU). */
  freeDeviceBytes?: number | undefined;
}

/**
 * Whether to page, and why. Only fo-adamw keeps moments to page. On cpu and wasm the device *is*
 * host memory, so `auto` never pages there; elsewhere `auto` pages when the free device memory is
 * known and the estimate would take more than 90% of it (WebGPU does not report its memory, so
 * there `auto` stays off: use `on`).
 */
export function decidePaging(f: PagingFacts): { pagedOptim: boolean; reason: string } {
  if (f.method !== 'fo-adamw') {
    if (f.mode === 'on') {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `--paged-optim on pages AdamW's moments, and ${f.method} keeps none.`,
        'Use --method fo-adamw, or drop --paged-optim.',
      );
    }
    return { pagedOptim: false, reason: `${f.method} keeps no AdamW moments` };
  }
  if (f.mode !== 'auto') return { pagedOptim: f.mode === 'on', reason: `--paged-optim ${f.mode}` };
  if (hostMemoryBackends.includes(f.backend)) {
    return { pagedOptim: false, reason: `the ${f.backend} backend's device memory is host memory` };
  }
  if (f.freeDeviceBytes === undefined) {
    return {
      pagedOptim: false,
      reason: `the ${f.backend} backend does not report free device memory`,
    };
  }
  const short = f.peakBytes > AUTO_PAGE_SHARE * f.freeDeviceBytes;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  return {
    pagedOptim: short,
    reason: `estimated peak ${mb(f.peakBytes)} ${short ? 'over' : 'within'} ${AUTO_PAGE_SHARE * 100}% of ${mb(f.freeDeviceBytes)} free on the device`,
  };
}
