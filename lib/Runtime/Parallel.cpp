//===- Parallel.cpp - qcrt_parallel_for, a static thread pool ---*- C++ -*-===//
//
// Part of the quant project.
//
//===----------------------------------------------------------------------===//
//
// A fixed pool of qcrt_num_threads() - 1 workers started on first use. One
// parallel loop runs at a time: the caller publishes (body, ctx, range) and a
// new generation number, wakes the workers, runs chunk 0 itself and waits
// until every worker has finished its chunk. The partition depends only on
// the range and the thread count, never on timing, so results are
// reproducible run to run.
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
      workers.emplace_back([this, i] { workerLoop(i); });
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
    int64_t parts = std::min<int64_t>(numThreads, n);
    // Nested loops and loops started while another thread owns the pool run
    // serially: same results, no deadlock.
    if (parts <= 1 || insideLoop || !busy.try_lock()) {
      body(ctx, begin, end);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      task = {body, ctx, begin, n, parts};
      pending.store(parts - 1, std::memory_order_relaxed);
      ++generation;
    }
    wake.notify_all();
    insideLoop = true;
    body(ctx, begin, begin + n / parts);
    insideLoop = false;
    // Workers finish at about the same time as chunk 0: spin briefly before
    // blocking.
    for (int spin = 0; spin < 4096; ++spin) {
      if (pending.load(std::memory_order_acquire) == 0)
        break;
      std::this_thread::yield();
    }
    if (pending.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mutex);
      done.wait(lock, [this] {
        return pending.load(std::memory_order_acquire) == 0;
      });
    }
    busy.unlock();
  }

private:
  struct Task {
    qcrt_parallel_body body = nullptr;
    void *ctx = nullptr;
    int64_t begin = 0, n = 0, parts = 0;
  };

  void workerLoop(int index) {
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
      if (index >= t.parts)
        continue;
      insideLoop = true;
      t.body(t.ctx, t.begin + t.n * index / t.parts,
             t.begin + t.n * (index + 1) / t.parts);
      insideLoop = false;
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex);
        done.notify_one();
      }
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
  std::atomic<int64_t> pending{0};
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
