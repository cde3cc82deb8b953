// What goes into a GGUF file, tensor by tensor, before a type is picked: llama.cpp's name, the
// shape as PyTorch orders it, and how to produce the float32 values (renamed, permuted or
// transposed from the Hugging Face tensor).

/** Reads one Hugging Face tensor (canonical name) as float32, when it is written. */
export type ReadTensor = (hfName: string) => Promise<Float32Array>;

export interface PlannedTensor {
  name: string;
  shape: number[];
  values: () => Promise<Float32Array>;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}
