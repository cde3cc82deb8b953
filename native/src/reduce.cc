// Reductions over the middle axis of [outer, reduce, inner], and row softmax. Sums accumulate in
// double, which is at least as accurate as tfjs's cpu kernels (float32 running sums).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace ws {
namespace {

constexpr size_t kGrain = 1 << 15;

template <typename Init, typename Step, typename Finish>
void reduce_impl(const float* x, float* out, int64_t outer, int64_t r, int64_t inner, Init init,
                 Step step, Finish finish) {
  if (inner == 1) {
    // Rows: one accumulator each, threaded over rows.
    const size_t grain = std::max<size_t>(1, kGrain / size_t(std::max<int64_t>(1, r)));
    parallel_for(size_t(outer), grain, [&](size_t lo, size_t hi) {
      for (size_t o = lo; o < hi; ++o) {
        const float* row = x + int64_t(o) * r;
        double acc = init();
        for (int64_t j = 0; j < r; ++j) acc = step(acc, row[j]);
        out[o] = float(finish(acc, r));
      }
    });
    return;
  }
  // Columns: a row of accumulators walked down the reduced axis, threaded over inner columns.
  const size_t grain = std::max<size_t>(64, kGrain / size_t(std::max<int64_t>(1, r)));
  for (int64_t o = 0; o < outer; ++o) {
    const float* base = x + o * r * inner;
    float* dst = out + o * inner;
    parallel_for(size_t(inner), grain, [&](size_t lo, size_t hi) {
      std::vector<double> acc(hi - lo, init());
      for (int64_t j = 0; j < r; ++j) {
        const float* row = base + j * inner;
        for (size_t i = lo; i < hi; ++i) acc[i - lo] = step(acc[i - lo], row[i]);
      }
      for (size_t i = lo; i < hi; ++i) dst[i] = float(finish(acc[i - lo], r));
    }, 16);
  }
}

}  // namespace

void reduce(Reduce op, const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  const auto same = [](double a, int64_t) { return a; };
  constexpr double inf = std::numeric_limits<double>::infinity();
  switch (op) {
    case Reduce::Sum:
      return reduce_impl(x, out, outer, r, inner, [] { return 0.0; },
                         [](double a, float v) { return a + v; }, same);
    case Reduce::Mean:
      return reduce_impl(x, out, outer, r, inner, [] { return 0.0; },
                         [](double a, float v) { return a + v; },
                         [](double a, int64_t n) { return a / double(n); });
    case Reduce::Prod:
      return reduce_impl(x, out, outer, r, inner, [] { return 1.0; },
                         [](double a, float v) { return a * v; }, same);
    // NaN wins, as in tfjs's cpu max/min.
    case Reduce::Max:
      return reduce_impl(x, out, outer, r, inner, [] { return -inf; },
                         [](double a, float v) { return (v != v || v > a) ? double(v) : a; },
                         same);
    case Reduce::Min:
      return reduce_impl(x, out, outer, r, inner, [] { return inf; },
                         [](double a, float v) { return (v != v || v < a) ? double(v) : a; },
                         same);
  }
}

void softmax(const float* x, float* out, int64_t rows, int64_t cols, bool log) {
  const size_t grain = std::max<size_t>(1, kGrain / size_t(std::max<int64_t>(1, cols)));
  parallel_for(size_t(rows), grain, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      const float* in = x + int64_t(r) * cols;
      float* o = out + int64_t(r) * cols;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < cols; ++j) mx = in[j] > mx ? in[j] : mx;
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) {
        const float e = std::exp(in[j] - mx);
        if (!log) o[j] = e;
        sum += e;
      }
      if (log) {
        const float lse = float(std::log(sum));
        for (int64_t j = 0; j < cols; ++j) o[j] = (in[j] - mx) - lse;
      } else {
        const float inv = float(1.0 / sum);
        for (int64_t j = 0; j < cols; ++j) o[j] *= inv;
      }
    }
  });
}

}  // namespace ws
