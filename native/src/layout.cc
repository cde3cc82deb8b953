// Data movement on 4-byte elements: transpose, gather, scatter-add and slice.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "pool.h"

namespace ws {
namespace {
constexpr size_t kGrain = 1 << 15;
}

void transpose(const uint32_t* x, uint32_t* out, const Shape& shape, const std::vector<int>& perm) {
  // Collapse runs of input axes that stay adjacent and in order in the output.
  Shape in_strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    in_strides[i] = s;
    s *= shape[i];
  }
  Shape dims, strides;  // output-order dims and the input stride of each
  for (size_t i = 0; i < perm.size(); ++i) {
    const int p = perm[i];
    if (shape[p] == 1) continue;
    if (!dims.empty() && strides.back() == in_strides[p] * shape[p]) {
      dims.back() *= shape[p];
      strides.back() = in_strides[p];
      continue;
    }
    dims.push_back(shape[p]);
    strides.push_back(in_strides[p]);
  }
  const int64_t total = s;
  if (dims.empty() || (dims.size() == 1 && strides[0] == 1)) {
    std::memcpy(out, x, size_t(total) * 4);
    return;
  }
  const size_t rank = dims.size();
  const int64_t inner = dims[rank - 1], inner_stride = strides[rank - 1];
  const int64_t rows = total / inner;
  const size_t grain = std::max<size_t>(1, kGrain / size_t(inner));
  parallel_for(size_t(rows), grain, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      int64_t rem = int64_t(r), off = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        off += (rem % dims[d]) * strides[d];
        rem /= dims[d];
      }
      uint32_t* dst = out + int64_t(r) * inner;
      const uint32_t* src = x + off;
      for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * inner_stride];
    }
  });
}

int64_t gather(const uint32_t* x, const int32_t* idx, uint32_t* out, int64_t outer, int64_t axis,
               int64_t inner, int64_t count) {
  for (int64_t j = 0; j < count; ++j)
    if (idx[j] < 0 || idx[j] >= axis) return j;
  const size_t grain = std::max<size_t>(1, kGrain / size_t(std::max<int64_t>(1, inner)));
  parallel_for(size_t(outer * count), grain, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      const int64_t o = int64_t(r) / count, j = int64_t(r) % count;
      std::memcpy(out + int64_t(r) * inner, x + (o * axis + idx[j]) * inner, size_t(inner) * 4);
    }
  });
  return -1;
}

int64_t segment_sum(const float* x, const int32_t* ids, float* out, int64_t rows, int64_t inner,
                    int64_t segments) {
  for (int64_t r = 0; r < rows; ++r)
    if (ids[r] < 0 || ids[r] >= segments) return r;
  // Threads split the columns, so no two write the same element.
  parallel_for(size_t(inner), std::max<size_t>(64, kGrain / size_t(std::max<int64_t>(1, rows))),
               [&](size_t lo, size_t hi) {
                 for (int64_t r = 0; r < rows; ++r) {
                   float* dst = out + int64_t(ids[r]) * inner;
                   const float* src = x + r * inner;
                   for (size_t i = lo; i < hi; ++i) dst[i] += src[i];
                 }
               }, 16);
  return -1;
}

void slice(const uint32_t* x, const Shape& shape, const Shape& begin, const Shape& size,
           uint32_t* out) {
  const size_t rank = shape.size();
  Shape strides(rank);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  // Innermost run: trailing axes taken whole merge into one contiguous copy.
  size_t k = rank;
  int64_t run = 1;
  while (k > 0 && size[k - 1] == shape[k - 1]) run *= shape[--k];
  if (k > 0) run *= size[--k];
  int64_t rows = 1;
  for (size_t d = 0; d < k; ++d) rows *= size[d];
  const size_t grain = std::max<size_t>(1, kGrain / size_t(std::max<int64_t>(1, run)));
  parallel_for(size_t(rows), grain, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      int64_t rem = int64_t(r), off = 0;
      for (size_t d = k; d-- > 0;) {
        off += (begin[d] + rem % size[d]) * strides[d];
        rem /= size[d];
      }
      if (k < rank) off += begin[k] * strides[k];
      std::memcpy(out + int64_t(r) * run, x + off, size_t(run) * 4);
    }
  });
}

void pad_into(const uint32_t* x, const Shape& shape, const Shape& before, uint32_t* out,
              const Shape& out_shape) {
  const size_t rank = shape.size();
  Shape out_strides(rank);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    out_strides[i] = s;
    s *= out_shape[i];
  }
  // Each row of x's last axis is one contiguous copy into out.
  const int64_t run = rank == 0 ? 1 : shape[rank - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= shape[d];
  const int64_t last_offset = rank == 0 ? 0 : before[rank - 1];
  const size_t grain = std::max<size_t>(1, kGrain / size_t(std::max<int64_t>(1, run)));
  parallel_for(size_t(rows), grain, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      int64_t rem = int64_t(r), off = last_offset;
      for (size_t d = rank - 1; d-- > 0;) {
        off += (before[d] + rem % shape[d]) * out_strides[d];
        rem /= shape[d];
      }
      std::memcpy(out + off, x + int64_t(r) * run, size_t(run) * 4);
    }
  });
}

}  // namespace ws
