// One stored adapter tensor read into the model's variable, refused when its shape does not fit.
import { tf, type Variable } from '../backend/tf.js';
import { WhetstoneError } from '../errors.js';
import type { SafetensorsFile } from '../io/safetensors.js';

export async function assignStored(
  file: SafetensorsFile,
  stored: string,
  variable: Variable,
  hint: string,
): Promise<void> {
  const { values, shape } = await file.read(stored);
  if (shape.join(',') !== variable.shape.join(',')) {
    throw new WhetstoneError(
      'TENSOR_SHAPE_MISMATCH',
      `${file.path}: "${stored}" has shape [${shape.join(', ')}], the model expects [${variable.shape.join(', ')}].`,
      hint,
    );
  }
  tf.tidy(() => variable.assign(tf.tensor(values, shape, 'float32')));
}
