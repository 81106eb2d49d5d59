#pragma once
// The clock of every time a user sees: the summary's seconds, it/s and ETA, the trace's
// timestamps, the micro-batch timings. It reads std::chrono::steady_clock, unless the MPI layer
// installs another source: a simulated cluster (SimGrid SMPI) installs MPI_Wtime, its simulated
// clock, because steady_clock would read the real time of the machine that runs the simulation.
#include <chrono>
#include <cstdint>

namespace tptt {

struct RunClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<RunClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};

// Seconds since any fixed epoch; nullptr restores steady_clock. Set once, before training.
using ClockSource = double (*)();
void set_run_clock_source(ClockSource seconds) noexcept;

// Seconds between two readings.
inline double seconds_between(RunClock::time_point a, RunClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace tptt
