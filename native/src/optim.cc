// Optimizer kernels: the AdamW step of engine/backend/adam-step.ts.
#include <cmath>

#include "kernels.h"
#include "pool.h"

namespace ws {

void adam_step(const float* x, const float* m, const float* v, float* out, size_t n, double decay,
               double scale, double v_scale, double eps) {
  parallel_for(n, 1 << 15, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i)
      out[i] = float(decay * x[i] - (scale * m[i]) / (std::sqrt(v_scale * v[i]) + eps));
  });
}

}  // namespace ws
