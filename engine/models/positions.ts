// Learned absolute positions (GPT-2, OPT): a table lookup that must stay inside the table.
import { WhetstoneError } from '../errors.js';
import { tf, type Tensor, type Tensor2D } from '../backend/tf.js';

/** Rows [offset + shift, offset + shift + length) of a position table [P, C] -> [length, C]. */
export function positionRows(table: Tensor, offset: number, length: number, shift = 0): Tensor2D {
  const rows = table.shape[0];
  if (offset + shift + length > rows) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `The sequence reaches position ${offset + length}, past the model's ${rows - shift} learned positions.`,
      'Use shorter texts (truncate) or fewer new tokens.',
    );
  }
  return tf.slice(table, [offset + shift, 0], [length, table.shape[1]!]) as Tensor2D;
}
