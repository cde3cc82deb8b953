// The update history of a zeroth-order run: every change the method made to the weights, as
// (seed, a, b, transform) records meaning θ ← a·θ + b·T(z(seed, tensor)) for each trainable
// tensor (a only on tensors with weight decay). Perturbations, restores, updates and zo-cons'
// candidate moves are all records, so replaying them through the same kernel on the same backend
// rebuilds the weights bit for bit from the base model: 24 bytes a record, a few records a step.
//
// File (zo-history.bin): u32 header length, the header JSON, then the records
// (u32 seed, u32 flags, f64 a, f64 b; little-endian).
import { WhetstoneError } from '../errors.js';
import type { NoiseTransform } from '../util/counter-rng.js';

export interface NoiseRecord {
  seed: number;
  /** Scale of θ, applied only to tensors that take weight decay (others keep a = 1). */
  a: number;
  b: number;
  transform: NoiseTransform;
}

export interface HistoryHeader {
  format: 'whetstone-zo-history';
  version: 1;
  method: string;
  /** Trainable tensors in the order the method applies records, with their noise streams. */
  tensors: { name: string; stream: number; decays: boolean }[];
  backend: string;
}

export const HISTORY_FILE = 'zo-history.bin';
const RECORD_BYTES = 24;
const SIGN_FLAG = 1;
const SQUARE_FLAG = 2;
const transformOf = (flags: number): NoiseRecord['transform'] =>
  flags & SIGN_FLAG ? 'sign' : flags & SQUARE_FLAG ? 'square' : 'none';

export class ZoHistory {
  private buffer = new ArrayBuffer(RECORD_BYTES * 64);
  private length = 0;

  get count(): number {
    return this.length;
  }

  push(r: NoiseRecord): void {
    if ((this.length + 1) * RECORD_BYTES > this.buffer.byteLength) {
      const grown = new ArrayBuffer(this.buffer.byteLength * 2);
      new Uint8Array(grown).set(new Uint8Array(this.buffer));
      this.buffer = grown;
    }
    const view = new DataView(this.buffer, this.length * RECORD_BYTES, RECORD_BYTES);
    view.setUint32(0, r.seed >>> 0, true);
    view.setUint32(
      4,
      r.transform === 'sign' ? SIGN_FLAG : r.transform === 'square' ? SQUARE_FLAG : 0,
      true,
    );
    view.setFloat64(8, r.a, true);
    view.setFloat64(16, r.b, true);
    this.length++;
  }

  at(i: number): NoiseRecord {
    const view = new DataView(this.buffer, i * RECORD_BYTES, RECORD_BYTES);
    return {
      seed: view.getUint32(0, true),
      transform: transformOf(view.getUint32(4, true)),
      a: view.getFloat64(8, true),
      b: view.getFloat64(16, true),
    };
  }

  /** Take over another history's records (a resumed run reads its file). */
  replaceWith(other: ZoHistory): void {
    this.buffer = other.buffer.slice(0);
    this.length = other.length;
  }

  /** Keep the first `count` records (a resumed run drops what came after its checkpoint). */
  truncate(count: number): void {
    this.length = Math.min(this.length, count);
  }

  encode(header: HistoryHeader): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(4 + json.length + this.length * RECORD_BYTES);
    new DataView(out.buffer).setUint32(0, json.length, true);
    out.set(json, 4);
    out.set(new Uint8Array(this.buffer, 0, this.length * RECORD_BYTES), 4 + json.length);
    return out;
  }

  static decode(bytes: Uint8Array, file: string): { header: HistoryHeader; history: ZoHistory } {
    const invalid = (why: string) =>
      new WhetstoneError(
        'RUN_INVALID',
        `${file} is not a readable zeroth-order history: ${why}.`,
        'The run folder may have been edited or cut short; its checkpoints are still usable.',
      );
    if (bytes.length < 4) throw invalid('too short');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength = view.getUint32(0, true);
    if (4 + headerLength > bytes.length) throw invalid('header runs past the end');
    let header: HistoryHeader;
    try {
      header = JSON.parse(
        new TextDecoder().decode(bytes.subarray(4, 4 + headerLength)),
      ) as HistoryHeader;
    } catch {
      throw invalid('header is not JSON');
    }
    if (header.format !== 'whetstone-zo-history' || header.version !== 1) {
      throw invalid('unknown format or version');
    }
    const records = bytes.subarray(4 + headerLength);
    if (records.length % RECORD_BYTES !== 0) throw invalid('last record is incomplete');
    const history = new ZoHistory();
    history.buffer = new Uint8Array(records).buffer; // a copy: Buffer.slice would be a view
    history.length = records.length / RECORD_BYTES;
    return { header, history };
  }
}
