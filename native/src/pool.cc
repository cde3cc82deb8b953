// The pool's workers sleep on a condition variable between jobs (no spinning, so they never
// steal a core from OpenBLAS's own threads during a GEMM).
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ws {
namespace {

class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    start(n);
  }

  void run(size_t n, size_t align, const RangeFn& fn) {
    const size_t parts = static_cast<size_t>(size());
    size_t chunk = (n + parts - 1) / parts;
    chunk = (chunk + align - 1) / align * align;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      chunk_ = chunk;
      pending_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    fn(0, std::min(n, chunk));
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void start(int n) {
    quit_ = false;
    for (int i = 1; i < std::max(1, n); ++i) workers_.emplace_back([this, i] { loop(i); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void loop(int index) {
    unsigned long seen = 0;
    for (;;) {
      const RangeFn* fn;
      size_t begin, end;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        fn = fn_;
        begin = std::min(n_, chunk_ * index);
        end = std::min(n_, begin + chunk_);
      }
      if (begin < end) (*fn)(begin, end);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const RangeFn* fn_ = nullptr;
  size_t n_ = 0, chunk_ = 0;
  int pending_ = 0;
  unsigned long generation_ = 0;
  bool quit_ = false;
};

Pool& pool() {
  static Pool p(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return p;
}

}  // namespace

int pool_threads() { return pool().size(); }

void set_pool_threads(int n) { pool().resize(n); }

void parallel_for(size_t n, size_t grain, const RangeFn& fn, size_t align) {
  if (n == 0) return;
  if (n <= grain || pool().size() == 1) {
    fn(0, n);
    return;
  }
  pool().run(n, align, fn);
}

}  // namespace ws
