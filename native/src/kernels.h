// The addon's kernels on plain pointers (addon.cc binds them to typed arrays). Tensors are
// row-major and contiguous; 4-byte data movement (transpose, gather, slice) serves float32 and
// int32 alike.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ws {

using Shape = std::vector<int64_t>;

/** c[bi] = op(a[bi % batchA]) · op(b[bi % batchB]) for bi < max(batchA, batchB), tfjs's rule. */
void batch_matmul(const float* a, const float* b, float* c, int64_t batch_a, int64_t batch_b,
                  int64_t m, int64_t n, int64_t k, bool transpose_a, bool transpose_b);

enum class Binary { Add, Sub, Mul, Div, Max, Min, SquaredDiff, Pow };
/** out = a op b with numpy broadcasting; a_shape and b_shape are aligned to out_shape's rank. */
void binary(Binary op, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
            float* out, const Shape& out_shape);

enum class Unary {
  Exp, Log, Sqrt, Rsqrt, Neg, Abs, Square, Reciprocal, Sigmoid, Tanh, Relu, Sin, Cos, Log1p,
  Step, Sign, Relu6
};
void unary(Unary op, const float* x, float* out, size_t n, float alpha);

enum class Reduce { Sum, Max, Min, Mean, Prod };
/** x viewed as [outer, reduce, inner] reduced over the middle axis into [outer, inner]. */
void reduce(Reduce op, const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner);

/** Softmax (or log-softmax) of each row of x viewed as [rows, cols]. */
void softmax(const float* x, float* out, int64_t rows, int64_t cols, bool log);

/** out = transpose(x, perm); 4-byte elements. */
void transpose(const uint32_t* x, uint32_t* out, const Shape& shape, const std::vector<int>& perm);

/** out[o, j, i] = x[o, idx[j], i] for x viewed as [outer, axis, inner]. Returns the index of a
 * bad id (out of [0, axis)) or -1. */
int64_t gather(const uint32_t* x, const int32_t* idx, uint32_t* out, int64_t outer, int64_t axis,
               int64_t inner, int64_t count);

/** out[s, i] += x[r, i] with s = ids[r] (out zeroed by the caller); bad ids as in gather. */
int64_t segment_sum(const float* x, const int32_t* ids, float* out, int64_t rows, int64_t inner,
                    int64_t segments);

/** out = x[begin : begin + size] per axis; 4-byte elements. */
void slice(const uint32_t* x, const Shape& shape, const Shape& begin, const Shape& size,
           uint32_t* out);

/** out (out_shape, pre-filled by the caller) gets x at offset `before` per axis; 4-byte elements. */
void pad_into(const uint32_t* x, const Shape& shape, const Shape& before, uint32_t* out,
              const Shape& out_shape);

/** out = fround(fround(a·x) + fround(b·y)): SGD's update in one pass, float32 as the stock ops. */
void axpby(const float* x, float a, const float* y, float b, float* out, size_t n);

/** Σ x² in double, threaded (the squares rounded to float32 first, as tf.square does). */
double sum_squares(const float* x, size_t n);

/** out = decay·x − scale·m / (sqrt(v_scale·v) + eps), in double and rounded once, exactly as
 * the JS loop of engine/backend/adam-step.ts. */
void adam_step(const float* x, const float* m, const float* v, float* out, size_t n, double decay,
               double scale, double v_scale, double eps);

}  // namespace ws

namespace ws {
/** NF4 dequantization as engine/peft/nf4-kernel.ts: out[i] = nf4[code_i] · scale(block(i)),
 * scale = dynamic[absmax_code_b] · group_scale + offset in float32. Byte k of each packed array
 * is the k-th byte in memory (the arrays are little-endian int32 words). */
void nf4_dequantize(const uint8_t* codes, const uint8_t* absmax_codes, const float* absmax_scales,
                    int64_t groups, const float* nf4_code, const float* dynamic_code, float* out,
                    size_t n, int64_t nf4_block, int64_t absmax_block);
}  // namespace ws
