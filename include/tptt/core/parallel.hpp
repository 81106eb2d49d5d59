#pragma once
// The few parallel primitives tptt uses, on oneTBB.
//
// ThreadSanitizer cannot see oneTBB's synchronisation (libtbb is not instrumented, so every
// task handoff looks like a race). A build with -fsanitize=thread therefore runs the same
// task structure on std::thread, which TSan understands, and so checks tptt's own shared
// state — workspaces, gradient tensors, the concurrent schedule's snapshots — not oneTBB's.
#include "tptt/core/intrinsics.hpp"  // first: oneTBB includes <immintrin.h> (see there)

#include <cstddef>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__)
#define TPTT_PARALLEL_STD_THREADS 1
#else
#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>
#include <tbb/task_arena.h>
#endif

namespace tptt {

// A rank's threads: work run through it uses at most `threads` threads.
class ThreadArena {
 public:
  explicit ThreadArena(int threads)
      : threads_(threads)
#if !defined(TPTT_PARALLEL_STD_THREADS)
        ,
        arena_(threads)
#endif
  {
  }

  int threads() const { return threads_; }

  ThreadArena(const ThreadArena&) = delete;
  ThreadArena& operator=(const ThreadArena&) = delete;
#if defined(TPTT_PARALLEL_STD_THREADS)
  ~ThreadArena() {
    for (auto& t : queued_) t.join();
  }
#endif

  // Runs f inside the arena (its nested parallel work uses the arena's threads). Isolated: a
  // thread that waits inside f for f's own tasks never picks up queued work (enqueue), so
  // f's critical path never waits for it.
  template <class F>
  void execute(F&& f) {
#if defined(TPTT_PARALLEL_STD_THREADS)
    f();
#else
    if (threads_ == 1) {
      f();
    } else {
      arena_.execute([&] { tbb::this_task_arena::isolate(f); });
    }
#endif
  }

  // Queues f to run on a thread of the arena that has nothing else to do (work inside
  // execute() keeps its own threads: it is isolated). Fire and forget: f must not throw, and
  // whatever it uses must outlive it. Needs threads() > 1.
  void enqueue(std::function<void()> f) {
#if defined(TPTT_PARALLEL_STD_THREADS)
    queued_.emplace_back(std::move(f));  // joined by the destructor
#else
    arena_.enqueue(std::move(f));
#endif
  }

  // Runs a and b, concurrently when the arena has more than one thread.
  template <class A, class B>
  void invoke(A&& a, B&& b) const {
    if (threads_ == 1) {
      a();
      b();
      return;
    }
#if defined(TPTT_PARALLEL_STD_THREADS)
    std::exception_ptr error;  // from b, rethrown here as oneTBB does
    std::thread other([&] {
      try {
        b();
      } catch (...) {
        error = std::current_exception();
      }
    });
    try {
      a();
    } catch (...) {
      other.join();
      throw;
    }
    other.join();
    if (error) std::rethrow_exception(error);
#else
    tbb::parallel_invoke(a, b);
#endif
  }

  // f(i) for i in [0, n), in parallel; f must not depend on the order.
  template <class F>
  void for_each_index(std::size_t n, F&& f) {
    if (threads_ == 1) {
      for (std::size_t i = 0; i < n; ++i) f(i);
      return;
    }
#if defined(TPTT_PARALLEL_STD_THREADS)
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < n; ++i) pool.emplace_back([&f, i] { f(i); });
    for (auto& t : pool) t.join();
#else
    execute([&] { tbb::parallel_for(std::size_t(0), n, f); });
#endif
  }

 private:
  int threads_;
#if defined(TPTT_PARALLEL_STD_THREADS)
  std::vector<std::thread> queued_;  // enqueue()d work, one thread each
#else
  tbb::task_arena arena_;
#endif
};

// One long-running strand beside the caller's work (the concurrent schedule's G loop), on a
// thread of its own. Not a oneTBB task: the strand blocks (on its peer strand and on messages
// from other ranks), and a blocked task would hold one of the pool's few worker threads —
// with several trainers in one process (in-process ranks) the pool could run out and
// deadlock. The strand's own computations still run through a ThreadArena.
class BackgroundTask {
 public:
  BackgroundTask() = default;
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;
  ~BackgroundTask() { join(); }

  void start(std::function<void()> f) { thread_ = std::thread(std::move(f)); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

}  // namespace tptt
