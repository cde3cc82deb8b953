// Reuses the native backend's large output buffers. A freshly allocated buffer costs a page fault
// per 4 KiB page on first write (measured here: ~0.4 s for 240 MB, 15× the write itself), and a
// training step allocates and frees the same parameter-sized tensors over and over; a buffer freed
// by one kernel is handed to the next that needs that size instead.
//
// Only buffers the kernels allocated are recycled, and only once no tensor refers to them (views
// count) and their values never left the backend (read / readSync hand the array itself out).

type Words = Float32Array | Int32Array;

export interface PoolOptions {
  /** Buffers smaller than this are left to the allocator (malloc serves them without faults). */
  minBytes: number;
  /** The most bytes kept waiting for reuse. */
  maxBytes: number;
}

export class BufferPool {
  private readonly owned = new WeakMap<ArrayBufferLike, Words>();
  private readonly refs = new Map<ArrayBufferLike, number>();
  private readonly escaped = new WeakSet<ArrayBufferLike>();
  private readonly free = new Map<string, Words[]>();
  private freeBytes = 0;

  constructor(private readonly opts: PoolOptions) {}

  /** An array of `n` elements; its contents are arbitrary (kernels overwrite every element). */
  alloc(dtype: 'float32' | 'int32', n: number): Words {
    if (n * 4 < this.opts.minBytes)
      return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
    const reused = this.free.get(`${dtype}:${n}`)?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      return reused;
    }
    const array = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
    this.owned.set(array.buffer, array);
    return array;
  }

  /** A tensor now refers to `values`. */
  hold(values: unknown): void {
    const buffer = bufferOf(values);
    if (buffer && this.owned.has(buffer)) this.refs.set(buffer, (this.refs.get(buffer) ?? 0) + 1);
  }

  /** A tensor no longer refers to `values`: recycle the buffer when it was the last. */
  release(values: unknown): void {
    const buffer = bufferOf(values);
    const array = buffer && this.owned.get(buffer);
    if (!buffer || !array) return;
    const left = (this.refs.get(buffer) ?? 1) - 1;
    if (left > 0) {
      this.refs.set(buffer, left);
      return;
    }
    this.refs.delete(buffer);
    if (this.escaped.has(buffer) || this.freeBytes + array.byteLength > this.opts.maxBytes) {
      this.owned.delete(buffer); // the garbage collector takes it
      return;
    }
    const key = `${array instanceof Int32Array ? 'int32' : 'float32'}:${array.length}`;
    const list = this.free.get(key) ?? [];
    list.push(array);
    this.free.set(key, list);
    this.freeBytes += array.byteLength;
  }

  /** `values` left the backend (read by a caller who may keep it): never recycle its buffer. */
  escape(values: unknown): void {
    const buffer = bufferOf(values);
    if (buffer && this.owned.has(buffer)) this.escaped.add(buffer);
  }

  /** Bytes waiting for reuse. */
  get idleBytes(): number {
    return this.freeBytes;
  }

  /** Drop every idle buffer (the allocator takes them back). */
  clear(): void {
    for (const list of this.free.values()) for (const a of list) this.owned.delete(a.buffer);
    this.free.clear();
    this.freeBytes = 0;
  }
}

function bufferOf(values: unknown): ArrayBufferLike | undefined {
  return ArrayBuffer.isView(values) ? values.buffer : undefined;
}
