// A small persistent thread pool: parallel_for splits [0, n) into one contiguous chunk per
// thread; the calling (JS) thread runs the first chunk. Work under `grain` items runs inline,
// since waking threads costs more than a small loop.
#pragma once
#include <cstddef>
#include <functional>

namespace ws {

using RangeFn = std::function<void(size_t begin, size_t end)>;

/** Threads the pool uses, the caller included (hardware concurrency unless set). */
int pool_threads();
void set_pool_threads(int n);

/** fn(begin, end) over [0, n) in chunks that are multiples of `align` (except the last). */
void parallel_for(size_t n, size_t grain, const RangeFn& fn, size_t align = 1);

}  // namespace ws
