// The one import of TensorFlow.js in the engine. Every engine file uses `tf` from here, so the
// whole engine shares one tfjs-core instance (tfjs-node and the backends register on it).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable, Rank } from '@tensorflow/tfjs-core';
