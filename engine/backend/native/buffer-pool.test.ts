// The pool hands a buffer out again only when no tensor refers to it and no caller holds it.
import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

const pool = () => new BufferPool({ minBytes: 0, maxBytes: 1 << 20 });

describe('BufferPool', () => {
  it('reuses a released buffer of the same dtype and length', () => {
    const p = pool();
    const a = p.alloc('float32', 8);
    p.hold(a);
    p.release(a);
    expect(p.idleBytes).toBe(32);
    expect(p.alloc('int32', 8)).not.toBe(a);
    expect(p.alloc('float32', 9)).not.toBe(a);
    expect(p.alloc('float32', 8)).toBe(a);
    expect(p.idleBytes).toBe(0);
  });

  it('waits for the last tensor, views included', () => {
    const p = pool();
    const a = p.alloc('float32', 8);
    const view = a.subarray(2, 4);
    p.hold(a);
    p.hold(view);
    p.release(a);
    expect(p.alloc('float32', 8)).not.toBe(a);
    p.release(view);
    expect(p.alloc('float32', 8)).toBe(a);
  });

  it('never recycles values a caller was given, nor arrays it did not allocate', () => {
    const p = pool();
    const a = p.alloc('float32', 8);
    p.hold(a);
    p.escape(a);
    p.release(a);
    const user = new Float32Array(8);
    p.hold(user);
    p.release(user);
    expect(p.idleBytes).toBe(0);
    const next = p.alloc('float32', 8);
    expect(next).not.toBe(a);
    expect(next).not.toBe(user);
  });

  it('keeps at most maxBytes idle and leaves small buffers to the allocator', () => {
    const p = new BufferPool({ minBytes: 16, maxBytes: 40 });
    const small = p.alloc('float32', 2);
    p.hold(small);
    p.release(small);
    expect(p.idleBytes).toBe(0);
    const [a, b] = [p.alloc('float32', 8), p.alloc('float32', 8)];
    for (const x of [a, b]) {
      p.hold(x);
      p.release(x);
    }
    expect(p.idleBytes).toBe(32);
    p.clear();
    expect(p.idleBytes).toBe(0);
  });
});
