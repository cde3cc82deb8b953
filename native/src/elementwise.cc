// Broadcast binary ops and unary ops, threaded over the output. Broadcasting collapses adjacent
// axes that broadcast alike, so the inner loop is one contiguous run with stride 0 or 1 per
// operand, which GCC vectorises.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "pool.h"

namespace ws {
namespace {

constexpr size_t kGrain = 1 << 15;

template <typename F>
inline void run_inner(F f, const float* a, int64_t sa, const float* b, int64_t sb, float* out,
                      int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    const float v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

struct Plan {
  Shape dims;            // collapsed output dims
  Shape sa, sb;          // element strides of a and b per collapsed dim (0 = broadcast)
};

Plan plan_broadcast(const Shape& a_shape, const Shape& b_shape, const Shape& out_shape) {
  const size_t rank = out_shape.size();
  Shape sa(rank), sb(rank);
  int64_t ra = 1, rb = 1;
  for (size_t i = rank; i-- > 0;) {
    sa[i] = a_shape[i] == 1 ? 0 : ra;
    sb[i] = b_shape[i] == 1 ? 0 : rb;
    ra *= a_shape[i];
    rb *= b_shape[i];
  }
  Plan p;
  for (size_t i = 0; i < rank; ++i) {
    if (out_shape[i] == 1) continue;
    // Merge into the previous axis when both operands continue contiguously (or stay broadcast).
    if (!p.dims.empty()) {
      const size_t j = p.dims.size() - 1;
      const bool a_ok = (p.sa[j] == 0 && sa[i] == 0) || (p.sa[j] == sa[i] * out_shape[i]);
      const bool b_ok = (p.sb[j] == 0 && sb[i] == 0) || (p.sb[j] == sb[i] * out_shape[i]);
      if (a_ok && b_ok) {
        p.dims[j] *= out_shape[i];
        p.sa[j] = sa[i];
        p.sb[j] = sb[i];
        continue;
      }
    }
    p.dims.push_back(out_shape[i]);
    p.sa.push_back(sa[i]);
    p.sb.push_back(sb[i]);
  }
  if (p.dims.empty()) {
    p.dims.push_back(1);
    p.sa.push_back(0);
    p.sb.push_back(0);
  }
  return p;
}

template <typename F>
void binary_impl(F f, const float* a, const float* b, float* out, const Plan& p) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims[rank - 1];
  const int64_t isa = p.sa[rank - 1], isb = p.sb[rank - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < rank; ++i) rows *= p.dims[i];
  if (rows == 1) {
    parallel_for(static_cast<size_t>(inner), kGrain, [&](size_t lo, size_t hi) {
      run_inner(f, a + isa * int64_t(lo), isa, b + isb * int64_t(lo), isb, out + lo,
                int64_t(hi - lo));
    });
    return;
  }
  const size_t grain = std::max<size_t>(1, kGrain / size_t(std::max<int64_t>(1, inner)));
  parallel_for(static_cast<size_t>(rows), grain, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      // Offsets of row r in a and b from its multi-index over the outer dims.
      int64_t rem = int64_t(r), oa = 0, ob = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        const int64_t idx = rem % p.dims[d];
        rem /= p.dims[d];
        oa += idx * p.sa[d];
        ob += idx * p.sb[d];
      }
      run_inner(f, a + oa, isa, b + ob, isb, out + int64_t(r) * inner, inner);
    }
  });
}

}  // namespace

void binary(Binary op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
            float* out, const Shape& out_shape) {
  const Plan p = plan_broadcast(a_shape, b_shape, out_shape);
  switch (op) {
    case Binary::Add: return binary_impl([](float x, float y) { return x + y; }, a, b, out, p);
    case Binary::Sub: return binary_impl([](float x, float y) { return x - y; }, a, b, out, p);
    case Binary::Mul: return binary_impl([](float x, float y) { return x * y; }, a, b, out, p);
    case Binary::Div: return binary_impl([](float x, float y) { return x / y; }, a, b, out, p);
    // NaN propagates as in tfjs's cpu kernels (a comparison with NaN picks NaN).
    case Binary::Max:
      return binary_impl(
          [](float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); }, a, b,
          out, p);
    case Binary::Min:
      return binary_impl(
          [](float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); }, a, b,
          out, p);
    case Binary::SquaredDiff:
      // In double and rounded once, as tfjs's cpu kernel computes it in JavaScript.
      return binary_impl(
          [](float x, float y) {
            const double d = double(x) - double(y);
            return float(d * d);
          },
          a, b, out, p);
    case Binary::Pow:
      return binary_impl([](float x, float y) { return float(std::pow(double(x), double(y))); },
                         a, b, out, p);
  }
}

namespace {

template <typename F>
void unary_impl(F f, const float* x, float* out, size_t n) {
  parallel_for(n, kGrain, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) out[i] = f(x[i]);
  });
}

}  // namespace

// Transcendentals run in double and round once, as JavaScript's Math does in tfjs's cpu kernels,
// so results agree with the cpu backend to the last bit or nearly so.
void unary(Unary op, const float* x, float* out, size_t n, float alpha) {
  switch (op) {
    case Unary::Exp: return unary_impl([](float v) { return float(std::exp(double(v))); }, x, out, n);
    case Unary::Log: return unary_impl([](float v) { return float(std::log(double(v))); }, x, out, n);
    case Unary::Sqrt: return unary_impl([](float v) { return std::sqrt(v); }, x, out, n);
    case Unary::Rsqrt:
      return unary_impl([](float v) { return float(1.0 / std::sqrt(double(v))); }, x, out, n);
    case Unary::Neg: return unary_impl([](float v) { return -v; }, x, out, n);
    case Unary::Abs: return unary_impl([](float v) { return std::fabs(v); }, x, out, n);
    case Unary::Square: return unary_impl([](float v) { return v * v; }, x, out, n);
    case Unary::Reciprocal: return unary_impl([](float v) { return 1.0f / v; }, x, out, n);
    case Unary::Sigmoid:
      return unary_impl([](float v) { return float(1.0 / (1.0 + std::exp(-double(v)))); }, x,
                        out, n);
    case Unary::Tanh: return unary_impl([](float v) { return float(std::tanh(double(v))); }, x, out, n);
    case Unary::Relu: return unary_impl([](float v) { return v < 0 ? 0.0f : v; }, x, out, n);
    case Unary::Relu6:
      return unary_impl([](float v) { return v < 0 ? 0.0f : (v > 6 ? 6.0f : v); }, x, out, n);
    case Unary::Sin: return unary_impl([](float v) { return float(std::sin(double(v))); }, x, out, n);
    case Unary::Cos: return unary_impl([](float v) { return float(std::cos(double(v))); }, x, out, n);
    case Unary::Log1p: return unary_impl([](float v) { return float(std::log1p(double(v))); }, x, out, n);
    case Unary::Step:
      return unary_impl([alpha](float v) { return v != v ? NAN : (v > 0 ? 1.0f : alpha); }, x, out, n);
    case Unary::Sign:
      return unary_impl([](float v) { return v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f); }, x, out, n);
  }
}

}  // namespace ws
