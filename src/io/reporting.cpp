#include "tptt/io/reporting.hpp"

#include <unistd.h>

#include <cstdio>

#include "tptt/core/error.hpp"

namespace tptt {

MetricsLog::MetricsLog(const std::string& path, const JsonObject& header) : out_(path), path_(path) {
  if (!out_) throw FileError("--log: cannot write metrics file '" + path + "'");
  out_ << header.str() << '\n' << std::flush;
}

void MetricsLog::on_check(const CheckRecord& rec) {
  out_ << rec.to_json().str() << '\n' << std::flush;
}

void MetricsLog::on_finish(const RunSummary& summary) {
  out_ << JsonObject().add("summary", summary.to_json()).str() << '\n' << std::flush;
  if (!out_) throw FileError("--log: writing metrics file '" + path_ + "' failed");
}

ProgressLine::ProgressLine(long max_iterations) : max_iterations_(max_iterations), terminal_(isatty(STDERR_FILENO)) {}

void ProgressLine::on_check(const CheckRecord& rec) {
  const double eta = rec.iterations_per_s > 0 ? (max_iterations_ - rec.iteration) / rec.iterations_per_s : 0;
  std::fprintf(stderr, "%sit %7ld  cost %.5f  val_err %.4f  best %.4f  %7.1f it/s  ETA(max) %6.0fs%s",
               terminal_ ? "\r" : "", rec.iteration, rec.train_cost, rec.validation.error, rec.best_error,
               rec.iterations_per_s, eta, terminal_ ? "\033[K" : "\n");
  std::fflush(stderr);
}

void ProgressLine::on_finish(const RunSummary& summary) {
  std::fprintf(stderr, "%sdone: %s after %ld iterations, %.1fs, best error %.4f\n", terminal_ ? "\n" : "",
               to_string(summary.reason).c_str(), summary.iterations, summary.seconds, summary.best_error);
}

}  // namespace tptt
