#include "tptt/core/lanes.hpp"

#include <chrono>
#include <thread>

namespace tptt {

void Lane::run_item(int i) {
  run_(i);
  if (item_finished_) item_finished_[i].store(true, std::memory_order_release);
  finished_.fetch_add(1, std::memory_order_acq_rel);
}

bool Lane::try_run() {
  if (order_ == Order::Independent) {
    int i = next_.load(std::memory_order_relaxed);
    if (i >= items_ || (ready_ && !ready_(i)) || !next_.compare_exchange_strong(i, i + 1)) return false;
    run_item(i);
    return true;
  }
  if (done() || busy_.exchange(true, std::memory_order_acquire)) return false;
  const int i = next_.load(std::memory_order_relaxed);
  const bool ready = i < items_ && (!ready_ || ready_(i));
  if (ready) {
    try {
      run_item(i);
    } catch (...) {
      busy_.store(false, std::memory_order_release);
      throw;
    }
    next_.store(i + 1, std::memory_order_relaxed);
  }
  busy_.store(false, std::memory_order_release);
  return ready;
}

void Lane::run_all() {
  for (int i = next_.load(std::memory_order_relaxed); i < items_; i = next_.load(std::memory_order_relaxed)) {
    next_.store(i + 1, std::memory_order_relaxed);
    run_item(i);
  }
}

namespace {

// Every lane of the list done, but for `filler`, which may be left unfinished.
bool all_done(std::initializer_list<Lane*> lanes, const Lane* filler) {
  for (const Lane* lane : lanes)
    if (lane != filler && !lane->done()) return false;
  return true;
}

// Waiting for the other strand: its items take microseconds to milliseconds. A short spin
// first, then yields: a yield can hand the core to another process for a whole time slice
// (milliseconds on a busy machine), far longer than most waits here.
class Backoff {
 public:
  void reset() { spinning_ = false; }
  void wait() {
    const auto now = std::chrono::steady_clock::now();
    if (!spinning_) {
      spinning_ = true;
      since_ = now;
    }
    if (now - since_ < kSpin) {
      for (int i = 0; i < 16; ++i) pause();
    } else {
      std::this_thread::yield();
    }
  }

 private:
  static constexpr std::chrono::microseconds kSpin{200};
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  bool spinning_ = false;
  std::chrono::steady_clock::time_point since_;
};

// One strand: the first lane of `order` with a ready item runs it, then the list is scanned
// again from its top, until every lane of the list is done (or the other strand failed).
// `skip`, when set, is a lane the strand leaves alone while *skip_while holds; `filler`, when
// set, a lane it runs only while others have items left.
void run_strand(std::initializer_list<Lane*> order, std::atomic<bool>& failed, const Lane* filler,
                const Lane* skip = nullptr, const std::atomic<bool>* skip_while = nullptr) {
  Backoff backoff;
  while (!failed.load(std::memory_order_relaxed) && !all_done(order, filler)) {
    bool ran = false;
    try {
      for (Lane* lane : order) {
        if (lane == skip && skip_while->load(std::memory_order_relaxed)) continue;
        if (lane->try_run()) {
          ran = true;
          break;
        }
      }
    } catch (...) {
      failed = true;
      throw;
    }
    if (ran) {
      backoff.reset();
      continue;
    }
    backoff.wait();  // an item is running on the other strand, or its inputs are to come
  }
}

}  // namespace

void run_strands(const ThreadArena& arena, std::initializer_list<Lane*> chain_order,
                 std::initializer_list<Lane*> helper_order, const Lane* helper_lane, const Lane* filler) {
  std::atomic<bool> chain_claimed{false}, helper_started{false}, failed{false};
  if (arena.threads() == 1) return run_strand(chain_order, failed, filler);
  const auto strand = [&] {
    if (chain_claimed.exchange(true)) {
      helper_started = true;
      run_strand(helper_order, failed, filler);
    } else {
      run_strand(chain_order, failed, filler, helper_lane, &helper_started);
    }
  };
  arena.invoke(strand, strand);
}

}  // namespace tptt
