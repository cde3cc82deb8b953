// The wasm heap guard: a ceiling refuses an allocation before the module's malloc runs, a null
// malloc result (the heap cannot grow) is an error instead of a write over address 0, and a trap
// of the module is an ENGINE_OOM that leaves the backend unusable for later jobs.
import { afterAll, describe, expect, it } from 'vitest';
import { toErrorInfo } from '../errors.js';
import { assertBackendUsable, noteHeapFault } from './heap-fault.js';
import { memory } from './memory.js';
import { releaseBackend } from './select.js';
import { startBackendFor } from './fit-select.js';
import { tf } from './tf.js';
import { guardWasmMalloc } from './wasm-guard.js';

afterAll(async () => {
  memory.setLimits({});
  delete process.env.WHETSTONE_MEMORY_LIMIT_BYTES;
  await releaseBackend();
});

const MiB = 1024 ** 2;

describe('wasm heap guard', () => {
  it('refuses the allocation that would pass the ceiling before malloc, and the heap stays sound', async () => {
    await startBackendFor({ backend: 'wasm' });
    // Emscripten's rethrowing handlers would turn any async error into exit code 7.
    expect(process.listeners('uncaughtException').some((l) => /ExitStatus/.test(String(l)))).toBe(
      false,
    );
    process.env.WHETSTONE_MEMORY_LIMIT_BYTES = String(memory.liveBytes + 3 * MiB);
    await startBackendFor({ backend: 'wasm' });
    const wasm = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
    const kept = tf.fill([MiB / 4], 2); // 1 MiB of 2s
    const heapBefore = wasm.HEAPU8.buffer.byteLength;
    expect(() => tf.zeros([(4 * MiB) / 4])).toThrow(/Out of memory: 4\.0 MiB more/);
    expect(wasm.HEAPU8.buffer.byteLength).toBe(heapBefore);
    expect((await tf.sum(kept).data())[0]).toBe(MiB / 2);
    kept.dispose();
  });

  it('turns a null malloc (heap exhausted) into DEVICE_LIMIT', () => {
    const module = {
      _malloc: (_n: number) => 16,
      asm: { malloc: (n: number) => (n > 1000 ? 0 : 64) },
    };
    guardWasmMalloc(module);
    expect(module._malloc(100)).toBe(64);
    expect(() => module._malloc(4000)).toThrow(
      /The wasm heap is full: it could not give 3\.9 KiB more/,
    );
    // Emscripten's lazy binding assigns the raw export over _malloc on first call: the guard stays.
    module._malloc = () => 0;
    expect(() => module._malloc(4000)).toThrow(/wasm heap is full/);
  });

  it('reports a trap as ENGINE_OOM and refuses to reuse the backend afterwards', () => {
    const trap = new Error('memory access out of bounds');
    trap.name = 'RuntimeError';
    expect(toErrorInfo(trap)).toMatchObject({
      code: 'ENGINE_OOM',
      message: 'The wasm backend ran out of memory and stopped (memory access out of bounds).',
    });
    expect(toErrorInfo(new Error('Aborted(OOM). Build with -sASSERTIONS'))).toMatchObject({
      code: 'ENGINE_OOM',
    });
    expect(() => assertBackendUsable()).not.toThrow();
    noteHeapFault(new Error('a kernel refused its input'));
    expect(() => assertBackendUsable()).not.toThrow();
    noteHeapFault(trap);
    expect(() => assertBackendUsable()).toThrow(
      /An earlier job overflowed the tensor backend's memory/,
    );
  });
});
