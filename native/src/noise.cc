// The float32 Box-Muller of engine/util/counter-rng.ts, written for GCC's auto-vectoriser: a block
// of pairs at a time into a stack buffer (one straight-line loop, selects instead of branches),
// then a separate element-wise a·x + b·T(z) loop. Every float operation is the reference's, in its
// order; a fused multiply-add would round once where the reference rounds twice, so contraction
// is switched off here whatever flags the build passes (-ffp-contract defaults to "fast" in GNU
// modes). The build must pass -fno-math-errno (no result changes: sqrt's argument is never
// negative): with errno, GCC guards each sqrt with a library call and the loop stays scalar, and
// unlike fp-contract the option cannot be set from a pragma.
#pragma GCC optimize("fp-contract=off")
#if defined(__GNUC__) && !defined(__NO_MATH_ERRNO__)
#error "compile noise.cc with -fno-math-errno, or its main loop is not vectorised"
#endif

#include "noise.h"

#include <cmath>
#include <cstring>

namespace whetstone {
namespace {

constexpr uint32_t kMixA = 0x7feb352du;
constexpr uint32_t kMixB = 0x846ca68bu;

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= kMixA;
  x ^= x >> 15;
  x *= kMixB;
  return x ^ (x >> 16);
}

inline uint32_t counter_bits(uint32_t c, uint32_t key) { return mix32(mix32(c + key) + key); }

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The constants of counter-rng.ts, as the same decimals.
constexpr float kLog1 = 0.666666687f, kLog2 = 0.400000006f, kLog3 = 0.285714298f,
                kLog4 = 0.222222224f;
constexpr float kLn2 = 0.693147182f;
constexpr uint32_t kSqrtHalfBits = 0x3f3504f3u;  // fround(√2)/2: where m's range starts
constexpr float kSin0 = 0.785398185f, kSin1 = -0.0807455108f, kSin2 = 0.00249039452f,
                kSin3 = -0.0000365762025f, kSin4 = 3.13361681e-7f;
constexpr float kCos1 = -0.308425128f, kCos2 = 0.0158543438f, kCos3 = -0.000325991889f,
                kCos4 = 0.00000359086039f, kCos5 = -2.46113689e-8f;

// Plain -O3 targets SSE2, which has no 32-bit lane multiply (the hash's) and 4-wide lanes: on
// x86-64 Linux, GCC also builds an AVX2 copy of the hot loop and picks one at load time (ifunc).
// The copies give the same bits: the same float32 operations, none fused.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(WHETSTONE_NOISE_NO_CLONES)
#define WHETSTONE_NOISE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WHETSTONE_NOISE_CLONES
#endif

constexpr size_t kPairs = 256;  // pairs per block: 2 KiB of z on the stack, in L1

// z for the `count` pairs whose first counter is `c0`, interleaved: z[2k] = r·cos, z[2k+1] = r·sin.
WHETSTONE_NOISE_CLONES void normals(float* __restrict z, uint32_t c0, uint32_t key, size_t count) {
  for (size_t k = 0; k < count; k++) {
    const uint32_t c = c0 + 2 * static_cast<uint32_t>(k);
    const uint32_t h1 = counter_bits(c, key);
    const uint32_t h2 = counter_bits(c + 1, key);

    // u = m·2^e through the exponent bits: subtracting √½'s bits leaves e in the exponent field
    // and m's mantissa in the low bits (the int→float is exact: the numerator is below 2^24).
    const float u = static_cast<float>(static_cast<int32_t>(2 * (h1 >> 9) + 1)) * 0x1p-24f;
    const uint32_t ix = bits_of(u) - kSqrtHalfBits;
    const float e = static_cast<float>(static_cast<int32_t>(ix) >> 23);
    const float m = float_of((ix & 0x7fffffu) + kSqrtHalfBits);
    const float s = (m - 1.0f) / (m + 1.0f);
    const float s2 = s * s;
    const float lnm = s * (2.0f + s2 * (kLog1 + s2 * (kLog2 + s2 * (kLog3 + s2 * kLog4))));
    const float r = std::sqrt(-2.0f * (e * kLn2 + lnm));

    const uint32_t o = h2 >> 29;
    const uint32_t w = (h2 >> 8) & 0x1fffffu;
    const uint32_t wm = w ^ (0x1fffffu & (0u - (o & 1)));  // 0x1fffff − w in odd octants
    const float t = static_cast<float>(static_cast<int32_t>(2 * wm + 1)) * 0x1p-22f;
    const float t2 = t * t;
    const float sn = t * (kSin0 + t2 * (kSin1 + t2 * (kSin2 + t2 * (kSin3 + t2 * kSin4))));
    const float cs =
        1.0f + t2 * (kCos1 + t2 * (kCos2 + t2 * (kCos3 + t2 * (kCos4 + t2 * kCos5))));
    // Selects and sign flips as bit masks (branch-free, so the loop vectorises); flipping the
    // sign bit is exactly the reference's unary minus.
    const uint32_t swap = 0u - (((o + 1) >> 1) & 1);  // all ones in octants 1, 2, 5, 6
    const uint32_t cos_sign = ((o + 2) & 4) << 29;    // negative in octants 2..5
    const uint32_t sin_sign = (o & 4) << 29;          // negative in octants 4..7
    const uint32_t snb = bits_of(sn), csb = bits_of(cs);
    z[2 * k] = r * float_of(((snb & swap) | (csb & ~swap)) ^ cos_sign);
    z[2 * k + 1] = r * float_of(((csb & swap) | (snb & ~swap)) ^ sin_sign);
  }
}

template <int T>
inline float apply(float z) {
  if (T == kNoiseSign) return float_of((bits_of(z) & 0x80000000u) | bits_of(1.0f));  // z != 0
  if (T == kNoiseSquare) return z * z;
  return z;
}

// The element-wise tail of a block, one loop per aliasing case so each vectorises unchecked.
template <int T>
void axpy(float* __restrict out, const float* __restrict x, const float* __restrict z, float a,
          float b, size_t count) {
  for (size_t i = 0; i < count; i++) out[i] = a * x[i] + b * apply<T>(z[i]);
}

template <int T>
void axpy_in_place(float* __restrict io, const float* __restrict z, float a, float b,
                   size_t count) {
  for (size_t i = 0; i < count; i++) io[i] = a * io[i] + b * apply<T>(z[i]);
}

template <int T>
void scale(float* __restrict out, const float* __restrict z, float b, size_t count) {
  for (size_t i = 0; i < count; i++) out[i] = b * apply<T>(z[i]);
}

template <int T>
void range(float* out, const float* x, float a, float b, uint32_t key, size_t begin,
           size_t end) {
  alignas(64) float z[2 * kPairs];
  // Blocks start on a pair; an odd `begin` computes its pair and skips the first element.
  for (size_t i = begin & ~static_cast<size_t>(1); i < end; i += 2 * kPairs) {
    const size_t count = end - i < 2 * kPairs ? end - i : 2 * kPairs;
    normals(z, static_cast<uint32_t>(i), key, (count + 1) / 2);
    const size_t skip = i < begin ? 1 : 0;
    const size_t at = i + skip;
    if (x == nullptr)
      scale<T>(out + at, z + skip, b, count - skip);
    else if (x == out)
      axpy_in_place<T>(out + at, z + skip, a, b, count - skip);
    else
      axpy<T>(out + at, x + at, z + skip, a, b, count - skip);
  }
}

}  // namespace

uint32_t noise_stream_key(uint32_t seed, uint32_t stream) {
  return mix32(mix32(seed + 0x9e3779b9u) + stream);
}

void noise_axpy_range(float* out, const float* x, float a, float b, uint32_t key, int transform,
                      size_t n, size_t begin, size_t end) {
  if (end > n) end = n;
  if (begin >= end) return;
  if (transform == kNoiseSign)
    range<kNoiseSign>(out, x, a, b, key, begin, end);
  else if (transform == kNoiseSquare)
    range<kNoiseSquare>(out, x, a, b, key, begin, end);
  else
    range<kNoiseNone>(out, x, a, b, key, begin, end);
}

}  // namespace whetstone
