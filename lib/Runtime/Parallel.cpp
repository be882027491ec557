//===- Parallel.cpp - qcrt_parallel_for and its thread pool -----*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// A fixed pool of qcrt_num_threads() - 1 workers started on first use. One
// parallel loop runs at a time. The range is cut into a fixed set of chunks
// that depends only on its length and the thread count; the caller and the
// workers claim chunks from a shared counter until none is left, and the
// caller returns once every chunk is done. Which thread runs a chunk varies
// (a worker descheduled on a busy machine simply claims fewer), the chunks
// and the code each runs do not: a body whose iterations are independent
// (the matmul kernels' column panels) gives bit-identical results run to run
// and for any thread count.
//
//===----------------------------------------------------------------------===//

#include "qc/Runtime/qcrt.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

namespace {

class ThreadPool {
public:
  explicit ThreadPool(int threads) : numThreads(threads) {
    for (int i = 1; i < numThreads; ++i)
      workers.emplace_back([this] { workerLoop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      ++generation;
    }
    wake.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  int size() const { return numThreads; }

  void run(qcrt_parallel_body body, void *ctx, int64_t begin, int64_t end) {
    int64_t n = end - begin;
    // Nested loops and loops started while another thread owns the pool run
    // serially: same results, no deadlock.
    if (numThreads <= 1 || n <= 1 || insideLoop || !busy.try_lock()) {
      body(ctx, begin, end);
      return;
    }
    Task t{body, ctx, begin, n, std::min<int64_t>(n, 4 * int64_t(numThreads)),
           0};
    {
      std::lock_guard<std::mutex> lock(mutex);
      t.tag = ++generation & 0xffffffffu;
      completed.store(0, std::memory_order_relaxed);
      claim.store(t.tag << 32, std::memory_order_release);
      task = t;
    }
    wake.notify_all();
    runChunks(t);
    // The other chunks finish at about the same time: spin briefly before
    // blocking.
    for (int spin = 0; spin < 4096; ++spin) {
      if (completed.load(std::memory_order_acquire) == t.chunks)
        break;
      std::this_thread::yield();
    }
    if (completed.load(std::memory_order_acquire) != t.chunks) {
      std::unique_lock<std::mutex> lock(mutex);
      done.wait(lock, [&] {
        return completed.load(std::memory_order_acquire) == t.chunks;
      });
    }
    busy.unlock();
  }

private:
  struct Task {
    qcrt_parallel_body body = nullptr;
    void *ctx = nullptr;
    int64_t begin = 0, n = 0, chunks = 0;
    uint64_t tag = 0; ///< Low 32 bits of the loop's generation.
  };

  /// Claims and runs chunks of `t` while any is left. `claim` holds the
  /// loop's tag (high half) and the next chunk (low half): a worker still
  /// holding an older task finds another tag and claims nothing.
  void runChunks(const Task &t) {
    insideLoop = true;
    for (;;) {
      uint64_t c = claim.load(std::memory_order_acquire);
      do {
        if ((c >> 32) != t.tag || int64_t(c & 0xffffffffu) >= t.chunks) {
          insideLoop = false;
          return;
        }
      } while (
          !claim.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel));
      int64_t i = c & 0xffffffffu;
      t.body(t.ctx, t.begin + t.n * i / t.chunks,
             t.begin + t.n * (i + 1) / t.chunks);
      if (completed.fetch_add(1, std::memory_order_acq_rel) + 1 == t.chunks) {
        std::lock_guard<std::mutex> lock(mutex);
        done.notify_one();
      }
    }
  }

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      Task t;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen; });
        seen = generation;
        if (stopping)
          return;
        t = task;
      }
      runChunks(t);
    }
  }

  const int numThreads;
  std::vector<std::thread> workers;
  std::mutex busy; // held by the thread running a parallel loop
  std::mutex mutex;
  std::condition_variable wake, done;
  uint64_t generation = 0;
  bool stopping = false;
  Task task;
  std::atomic<uint64_t> claim{0};
  std::atomic<int64_t> completed{0};
  static thread_local bool insideLoop;
};

thread_local bool ThreadPool::insideLoop = false;

int threadsFromEnvironment() {
  if (const char *s = std::getenv("QCRT_NUM_THREADS")) {
    char *end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v >= 1)
      return static_cast<int>(std::min<long>(v, 1024));
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

std::atomic<ThreadPool *> currentPool{nullptr};
std::mutex poolCreation;

/// A forked child has none of the parent's workers: forget the pool there
/// (it is leaked, its mutexes may be held) and start a new one on next use.
void forgetPoolInChild() { currentPool.store(nullptr); }

ThreadPool &pool() {
  if (ThreadPool *p = currentPool.load(std::memory_order_acquire))
    return *p;
  std::lock_guard<std::mutex> lock(poolCreation);
  if (ThreadPool *p = currentPool.load())
    return *p;
  static bool atfork = [] {
    pthread_atfork(nullptr, nullptr, forgetPoolInChild);
    return true;
  }();
  (void)atfork;
  // Never destroyed: a module may still run from another static destructor.
  auto *p = new ThreadPool(threadsFromEnvironment());
  currentPool.store(p, std::memory_order_release);
  return *p;
}

} // namespace

extern "C" QCRT_API void qcrt_parallel_for(qcrt_parallel_body body, void *ctx,
                                           int64_t begin, int64_t end) {
  if (end <= begin)
    return;
  pool().run(body, ctx, begin, end);
}

extern "C" QCRT_API int32_t qcrt_num_threads(void) { return pool().size(); }
