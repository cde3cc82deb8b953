// The one import of TensorFlow.js in the engine. Every engine file uses `tf` from here, so the
// whole engine shares one tfjs-core instance (tfjs-node and the backends register on it).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients; the union package registers tfjs's own (into
// the global registry every tfjs-core copy shares). Without it, backprop fails on every kernel;
// gradient-fixes.ts then corrects the few tfjs gets wrong.
import '@tensorflow/tfjs';
import './gradient-fixes.js';

export { tf };
export type {
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Variable,
  Rank,
} from '@tensorflow/tfjs-core';
