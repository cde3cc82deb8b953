// Counter-based normal noise for the native backend: the float32 reference of
// engine/util/counter-rng.ts (noiseAxpyRange) in plain C++, bit for bit. Stateless and
// thread-safe: the addon's thread pool calls noise_axpy_range on disjoint ranges of one tensor.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whetstone {

/** How noise enters the update: as drawn, its sign, or its square (NoiseTransform in TS). */
enum NoiseTransform : int { kNoiseNone = 0, kNoiseSign = 1, kNoiseSquare = 2 };

/** streamKey(seed, stream) of counter-rng.ts: the key every element's counter is offset by. */
uint32_t noise_stream_key(uint32_t seed, uint32_t stream);

/**
 * out[i] = fround(fround(a·x[i]) + fround(b·T(z_i))) for i in [begin, end), z the noise of
 * counter-rng.ts under `key` (noise_stream_key), T by `transform` (NoiseTransform). `x` may be
 * null (then out[i] = b·T(z_i)) or equal to `out`, but must not otherwise overlap it. `n` is the
 * tensor's size (`end` is clamped to it). The result does not depend on how [0, n) is split into
 * ranges; an even `begin` saves recomputing a pair (elements 2j and 2j+1 are one Box-Muller pair).
 */
void noise_axpy_range(float* out, const float* x, float a, float b, uint32_t key, int transform,
                      size_t n, size_t begin, size_t end);

}  // namespace whetstone
