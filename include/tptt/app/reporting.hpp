#pragma once
// Observers of a run: the JSON-lines metrics log and the progress line on stderr.
#include <chrono>
#include <fstream>
#include <string>

#include "tptt/train/protocol.hpp"

namespace tptt {

// One JSON object per line: first {"config": …, "run": …}, then one record per check,
// last {"summary": …}. pandas.read_json(path, lines=True) reads it as is.
class MetricsLog final : public RunObserver {
 public:
  MetricsLog(const std::string& path, const JsonObject& header);  // throws FileError
  // A resumed run continues the log of the run it resumes: the lines of `path` up to check
  // `iteration` are kept (later ones were written after that checkpoint and will be written
  // again), then a {"resumed": note} line; `header` starts the file if it does not exist.
  MetricsLog(const std::string& path, const JsonObject& header, long iteration, const JsonObject& note);
  void on_check(const CheckRecord& rec) override;
  void on_finish(const RunSummary& summary) override;

 private:
  std::ofstream out_;
  std::string path_;
};

// Iteration, cost, validation error, rate and ETA; refreshed in place on a terminal,
// one plain line per check otherwise.
class ProgressLine final : public RunObserver {
 public:
  explicit ProgressLine(long max_iterations);
  void on_check(const CheckRecord& rec) override;
  void on_finish(const RunSummary& summary) override;

 private:
  long max_iterations_;
  bool terminal_;
};

}  // namespace tptt
