#include "tptt/core/trace.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tptt {

namespace {

struct Event {
  const char* name;
  const char* category;
  double begin_us, duration_us;
  int thread;
};

struct Recorder {
  std::mutex mutex;
  std::vector<Event> events;
  std::unordered_map<std::thread::id, int> threads;  // small thread numbers, in order of first use
  int rank = 0;
  // The run clock's epoch (boot, or the simulation's start): the ranks of a node, or of a
  // simulated cluster, share it, so their tracks line up.
  RunClock::time_point origin{};
};

std::atomic<Recorder*> recorder{nullptr};

}  // namespace

void start_trace(int rank) {
  // Never freed: spans on other threads may still be closing when the process ends.
  static Recorder* instance = new Recorder;
  instance->rank = rank;
  recorder.store(instance, std::memory_order_release);
}

bool tracing() { return recorder.load(std::memory_order_acquire) != nullptr; }

TraceSpan::TraceSpan(const char* name, const char* category) : name_(name), category_(category), on_(tracing()) {
  if (on_) begin_ = RunClock::now();
}

TraceSpan::~TraceSpan() {
  if (!on_) return;
  const auto end = RunClock::now();
  Recorder& r = *recorder.load(std::memory_order_acquire);
  const auto us = [&r](RunClock::time_point t) {
    return std::chrono::duration<double, std::micro>(t - r.origin).count();
  };
  std::lock_guard lock(r.mutex);
  const auto [it, inserted] = r.threads.try_emplace(std::this_thread::get_id(), static_cast<int>(r.threads.size()));
  r.events.push_back({name_, category_, us(begin_), us(end) - us(begin_), it->second});
}

std::string trace_events_json() {
  Recorder* r = recorder.load(std::memory_order_acquire);
  if (!r) return {};
  std::lock_guard lock(r->mutex);
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, R"({"name":"process_name","ph":"M","pid":%d,"args":{"name":"rank %d"}})", r->rank,
                r->rank);
  out += line;
  for (const Event& e : r->events) {
    std::snprintf(line, sizeof line, R"(,{"name":"%s","cat":"%s","ph":"X","pid":%d,"tid":%d,"ts":%.3f,"dur":%.3f})",
                  e.name, e.category, r->rank, e.thread, e.begin_us, e.duration_us);
    out += line;
  }
  return out;
}

}  // namespace tptt
