import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhetstoneError } from '../errors.js';
import { DTYPE_BYTES, type SafetensorsDtype } from './dtypes.js';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors, type WriteEntry } from './safetensors-writer.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whetstone-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file built byte by byte, so each kind of damage can be made on purpose. */
async function rawFile(
  name: string,
  header: string | object,
  data: Uint8Array,
  declaredLength?: bigint,
): Promise<string> {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([prefix, json, data]));
  return path;
}

async function openError(path: string): Promise<WhetstoneError> {
  return SafetensorsFile.open(path).then(
    async (f) => {
      await f.close();
      throw new Error(`expected ${path} to be refused`);
    },
    (err: WhetstoneError) => err,
  );
}

const ok = {
  a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  b: { dtype: 'I8', shape: [4], data_offsets: [8, 12] },
};

describe('safetensors round trip', () => {
  it('every dtype written reads back bit-exact, with metadata and file order', async () => {
    const dtypes: SafetensorsDtype[] = [
      'F64',
      'F32',
      'F16',
      'BF16',
      'I64',
      'I32',
      'I16',
      'I8',
      'U8',
      'BOOL',
      'U16',
      'U32',
    ];
    const entries: WriteEntry[] = dtypes.map((dtype, i) => {
      const bytes = new Uint8Array(6 * DTYPE_BYTES[dtype]);
      for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 37 + i * 11) & 0xff;
      if (dtype === 'BOOL') bytes.forEach((_, j) => (bytes[j] = j & 1));
      return { name: `t.${dtype}`, shape: [2, 3], dtype, data: bytes };
    });
    entries.push({ name: 'empty', shape: [0, 4], dtype: 'F32', data: new Float32Array(0) });
    entries.push({ name: 'scalar', shape: [], dtype: 'F32', data: Float32Array.of(2.5) });
    const path = join(dir, 'all.safetensors');
    await writeSafetensors(path, entries, { format: 'pt' });

    const file = await SafetensorsFile.open(path);
    expect(file.names()).toEqual(entries.map((e) => e.name));
    expect(file.metadata).toEqual({ format: 'pt' });
    for (const e of entries) {
      expect(file.info(e.name).shape).toEqual(e.shape);
      expect(file.info(e.name).dtype).toBe(e.dtype);
      if (e.data instanceof Uint8Array) expect(await file.readRaw(e.name)).toEqual(e.data);
    }
    expect((await file.read('scalar')).values).toEqual(Float32Array.of(2.5));
    expect((await file.read('t.I32')).dtype).toBe('int32');
    await file.close();

    // The header is padded with spaces to 8 bytes, so tensor data starts aligned.
    const bytes = await readFile(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    expect(
      bytes
        .subarray(8, 8 + headerLength)
        .toString()
        .trimEnd()
        .endsWith('}'),
    ).toBe(true);
  });

  it('floats converted on write read back as the rounded values', async () => {
    const values = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i) * 10);
    const path = join(dir, 'f16.safetensors');
    await writeSafetensors(path, [{ name: 'w', shape: [10, 10], dtype: 'F16', data: values }]);
    const file = await SafetensorsFile.open(path);
    const { values: back } = await file.read('w');
    for (let i = 0; i < 100; i++)
      expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11);
    await file.close();
  });

  it('a lazy tensor of the wrong size fails the write and leaves no file behind', async () => {
    const path = join(dir, 'never.safetensors');
    const write = writeSafetensors(path, [
      { name: 'w', shape: [3], dtype: 'F32', data: () => Promise.resolve(new Float32Array(2)) },
    ]);
    await expect(write).rejects.toThrow(/shape \[3\].*2 values/);
    expect((await readdir(dir)).filter((f) => f.includes('never'))).toEqual([]);
  });

  it('duplicate names are refused before anything is written', async () => {
    const e: WriteEntry = { name: 'x', shape: [1], dtype: 'F32', data: Float32Array.of(1) };
    await expect(writeSafetensors(join(dir, 'dup.safetensors'), [e, e])).rejects.toThrow(/twice/);
  });
});

describe('damaged safetensors files', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      'shorter than the length prefix',
      () => writeFile(join(dir, 'tiny'), Buffer.from([1, 2, 3])).then(() => join(dir, 'tiny')),
      /3 bytes long/,
    ],
    [
      'header length past the end',
      () => rawFile('past', ok, new Uint8Array(12), 10_000n),
      /runs past the end/,
    ],
    ['absurd header length', () => rawFile('huge', ok, new Uint8Array(12), 2n ** 40n), /above the/],
    [
      'malformed JSON header',
      () => rawFile('json', '{"a": {"dtype": "F32",', new Uint8Array(0)),
      /not valid JSON/,
    ],
    [
      'header not an object',
      () => rawFile('array', '[1, 2]', new Uint8Array(0)),
      /not a JSON object/,
    ],
    [
      'unknown dtype',
      () =>
        rawFile(
          'dtype',
          { a: { dtype: 'Q4_K', shape: [2], data_offsets: [0, 8] } },
          new Uint8Array(8),
        ),
      /"a" has dtype "Q4_K"/,
    ],
    [
      'shape and byte count disagree',
      () =>
        rawFile(
          'count',
          { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
          new Uint8Array(8),
        ),
      /shape \[3\] of F32 \(12 bytes\).*8 bytes/,
    ],
    [
      'offsets out of range (truncated data)',
      () => rawFile('range', ok, new Uint8Array(10)),
      /"b" ends at byte 12.*only 10/,
    ],
    [
      'overlapping offsets',
      () =>
        rawFile(
          'overlap',
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          new Uint8Array(8),
        ),
      /overlap/,
    ],
    [
      'a hole between tensors',
      () =>
        rawFile(
          'hole',
          {
            a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
            b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
          },
          new Uint8Array(12),
        ),
      /gap of 4 bytes/,
    ],
    [
      'offsets that end before they begin',
      () =>
        rawFile(
          'reverse',
          { a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } },
          new Uint8Array(8),
        ),
      /end before they begin/,
    ],
    [
      'negative shape',
      () =>
        rawFile(
          'shape',
          { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } },
          new Uint8Array(4),
        ),
      /non-negative integers/,
    ],
    [
      'bad metadata',
      () => rawFile('meta', { __metadata__: { n: 3 } }, new Uint8Array(0)),
      /__metadata__/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(`refuses ${what}, naming the file`, async () => {
      const path = await make();
      const err = await openError(path);
      expect(err.code).toBe('MODEL_FILE_INVALID');
      expect(err.message).toContain(path);
      expect(err.message).toMatch(message);
      expect(err.hint).toBeTruthy();
    });
  }

  it('a missing file is MODEL_NOT_FOUND', async () => {
    expect((await openError(join(dir, 'absent.safetensors'))).code).toBe('MODEL_NOT_FOUND');
  });

  it('a valid file opens, and an unknown tensor name is TENSOR_MISSING', async () => {
    const path = await rawFile('good', ok, new Uint8Array(12));
    const file = await SafetensorsFile.open(path);
    expect(() => file.info('c')).toThrow(expect.objectContaining({ code: 'TENSOR_MISSING' }));
    await file.close();
  });
});
