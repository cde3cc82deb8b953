// A standalone driver for native/src/noise.cc, compiled and run by test/native-noise.test.ts.
//   noise-check cases < lines   each line: seed stream n a_bits b_bits transform xmode chunk;
//                               writes each case's n float32 outputs to stdout, raw
//   noise-check bench n reps    prints the best CPU ns per element of one thread over reps runs
//                               (CPU time, not wall time: shared machines deschedule us)
// xmode 0: no x; 1: x in its own buffer; 2: x in the output buffer (in place). x[i] is
// ((i % 1001) − 500)/16, exact in float32, so the test rebuilds it. chunk: the range split.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "../src/noise.h"

using whetstone::noise_axpy_range;
using whetstone::noise_stream_key;

static float x_at(size_t i) { return static_cast<float>(static_cast<int>(i % 1001) - 500) / 16.0f; }

static float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

static int run_cases() {
  unsigned long seed, stream, n, a_bits, b_bits, chunk;
  int transform, xmode;
  while (std::scanf("%lu %lu %lu %lu %lu %d %d %lu", &seed, &stream, &n, &a_bits, &b_bits,
                    &transform, &xmode, &chunk) == 8) {
    const uint32_t key = noise_stream_key(static_cast<uint32_t>(seed), static_cast<uint32_t>(stream));
    std::vector<float> out(n, -7.0f), x(n);
    for (size_t i = 0; i < n; i++) x[i] = x_at(i);
    if (xmode == 2) out = x;
    const float* xp = xmode == 0 ? nullptr : xmode == 1 ? x.data() : out.data();
    for (size_t begin = 0; begin < n; begin += chunk)
      noise_axpy_range(out.data(), xp, from_bits(a_bits), from_bits(b_bits), key, transform, n,
                       begin, std::min<size_t>(begin + chunk, n));
    std::fwrite(out.data(), sizeof(float), n, stdout);
  }
  return 0;
}

static int run_bench(size_t n, int reps) {
  std::vector<float> out(n), x(n, 0.5f);
  const uint32_t key = noise_stream_key(1234, 99);
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    const std::clock_t t0 = std::clock();
    noise_axpy_range(out.data(), x.data(), 1.0f, 1e-3f, key, 0, n, 0, n);
    const std::clock_t t1 = std::clock();
    best = std::min(best, 1e9 * static_cast<double>(t1 - t0) / CLOCKS_PER_SEC / n);
  }
  double sum = 0;  // keeps the work observable
  for (float v : out) sum += v;
  std::printf("%.3f ns/element (checksum %g)\n", best, sum);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "cases") == 0) return run_cases();
  if (argc >= 4 && std::strcmp(argv[1], "bench") == 0)
    return run_bench(std::strtoul(argv[2], nullptr, 10), std::atoi(argv[3]));
  std::fprintf(stderr, "usage: noise-check cases < lines | noise-check bench n reps\n");
  return 2;
}
