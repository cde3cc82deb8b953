// NF4 dequantization for QLoRA's frozen base, threaded over quantization blocks.
#include <algorithm>

#include "kernels.h"
#include "pool.h"

namespace ws {

void nf4_dequantize(const uint8_t* codes, const uint8_t* absmax_codes, const float* absmax_scales,
                    int64_t groups, const float* nf4_code, const float* dynamic_code, float* out,
                    size_t n, int64_t nf4_block, int64_t absmax_block) {
  const size_t blocks = (n + size_t(nf4_block) - 1) / size_t(nf4_block);
  const float offset = absmax_scales[groups];
  parallel_for(blocks, std::max<size_t>(1, (1 << 15) / size_t(nf4_block)), [&](size_t lo, size_t hi) {
    for (size_t b = lo; b < hi; ++b) {
      const float group_scale = absmax_scales[b / size_t(absmax_block)];
      const float scaled = dynamic_code[absmax_codes[b]] * group_scale;
      const float scale = scaled + offset;
      const size_t end = std::min(n, (b + 1) * size_t(nf4_block));
      for (size_t i = b * size_t(nf4_block); i < end; ++i) {
        const uint8_t byte = codes[i >> 1];
        out[i] = nf4_code[(i & 1) == 0 ? byte >> 4 : byte & 15] * scale;
      }
    }
  });
}

}  // namespace ws
