#pragma once
// Timeline of a run in the Chrome trace-event format (Perfetto and chrome://tracing open it):
// a span per piece of work or wait, on the thread that ran it. Off unless start_trace() was
// called; then a span costs two clock reads and one short locked append.
#include "tptt/core/clock.hpp"

#include <string>

namespace tptt {

// Starts recording in this process; `rank` becomes the trace's process id (one track group
// per rank when the files of several ranks are merged).
void start_trace(int rank);
bool tracing();
// The events recorded so far as the body of a trace-event array (comma-separated objects,
// without the brackets), so that the files of several ranks can be concatenated.
std::string trace_events_json();

// Records [construction, destruction) as one span of `name` in `category` ("compute",
// "wait", "comm", "validate"). Both strings must outlive the trace (use literals).
class TraceSpan {
 public:
  explicit TraceSpan(const char* name, const char* category = "compute");
  ~TraceSpan();
  TraceSpan(const TraceSpan&) = delete;
  TraceSpan& operator=(const TraceSpan&) = delete;

 private:
  const char* name_;
  const char* category_;
  RunClock::time_point begin_;
  bool on_;
};

}  // namespace tptt
