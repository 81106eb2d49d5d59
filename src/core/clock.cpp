#include "tptt/core/clock.hpp"

#include <atomic>

namespace tptt {

namespace {
std::atomic<ClockSource> source{nullptr};
}  // namespace

void set_run_clock_source(ClockSource seconds) noexcept { source.store(seconds, std::memory_order_release); }

RunClock::time_point RunClock::now() noexcept {
  if (const ClockSource s = source.load(std::memory_order_acquire))
    return time_point(std::chrono::duration_cast<duration>(std::chrono::duration<double>(s())));
  return time_point(std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

}  // namespace tptt
