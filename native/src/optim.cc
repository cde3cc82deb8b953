// Optimizer kernels: the AdamW step of engine/backend/adam-step.ts.
#include <algorithm>
#include <mutex>
#include <utility>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace ws {

void axpby(const float* x, float a, const float* y, float b, float* out, size_t n) {
  parallel_for(n, 1 << 15, [&](size_t lo, size_t hi) {
    if (a == 1.0f) {
      for (size_t i = lo; i < hi; ++i) out[i] = x[i] + b * y[i];
    } else {
      for (size_t i = lo; i < hi; ++i) out[i] = a * x[i] + b * y[i];
    }
  });
}

double sum_squares(const float* x, size_t n) {
  // One partial sum per chunk, added in chunk order: the total must not depend on which thread
  // finished first (resumed runs are compared with uninterrupted ones bit for bit).
  std::mutex mu;
  std::vector<std::pair<size_t, double>> partial;
  parallel_for(n, 1 << 15, [&](size_t lo, size_t hi) {
    double acc = 0;
    for (size_t i = lo; i < hi; ++i) {
      const float sq = x[i] * x[i];
      acc += sq;
    }
    std::lock_guard<std::mutex> lock(mu);
    partial.emplace_back(lo, acc);
  });
  std::sort(partial.begin(), partial.end());
  double total = 0;
  for (const auto& p : partial) total += p.second;
  return total;
}

void adam_step(const float* x, const float* m, const float* v, float* out, size_t n, double decay,
               double scale, double v_scale, double eps) {
  parallel_for(n, 1 << 15, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i)
      out[i] = float(decay * x[i] - (scale * m[i]) / (std::sqrt(v_scale * v[i]) + eps));
  });
}

}  // namespace ws
