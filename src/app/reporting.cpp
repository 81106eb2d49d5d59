#include "tptt/app/reporting.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tptt/core/error.hpp"
#include "tptt/io/paths.hpp"

namespace tptt {

MetricsLog::MetricsLog(const std::string& path, const JsonObject& header) : out_(path), path_(path) {
  if (!out_) throw FileError("--log: cannot write metrics file '" + path + "': " + system_reason());
  out_ << header.str() << '\n' << std::flush;
}

namespace {

// The iteration of a check record or resume marker line, or −1 for other lines.
long line_iteration(const std::string& line) {
  for (const char* key : {"{\"iteration\":", "{\"resumed\":{\"iteration\":"}) {
    const std::string k = key;
    if (line.rfind(k, 0) == 0) return std::strtol(line.c_str() + k.size(), nullptr, 10);
  }
  return -1;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, const JsonObject& header, long iteration, const JsonObject& note)
    : path_(path) {
  std::vector<std::string> kept;
  std::ifstream old(path);
  if (old) {
    std::string line;
    if (std::getline(old, line)) kept.push_back(line);  // the first run's header
    while (std::getline(old, line)) {
      const long at = line_iteration(line);
      if (at >= 0 && at <= iteration) kept.push_back(line);
    }
  } else {
    kept.push_back(header.str());
  }
  old.close();
  const std::string temp = path + ".tmp";
  {
    std::ofstream rewrite(temp, std::ios::trunc);
    for (const auto& line : kept) rewrite << line << '\n';
    rewrite << note.str() << '\n';
    if (!rewrite.flush()) throw FileError("--log: cannot write metrics file '" + temp + "': " + system_reason());
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    throw FileError("--log: cannot replace metrics file '" + path + "': " + system_reason());
  out_.open(path, std::ios::app);
  if (!out_) throw FileError("--log: cannot write metrics file '" + path + "': " + system_reason());
}

void MetricsLog::on_check(const CheckRecord& rec) { out_ << rec.to_json().str() << '\n' << std::flush; }

void MetricsLog::on_finish(const RunSummary& summary) {
  out_ << JsonObject().add("summary", summary.to_json()).str() << '\n' << std::flush;
  if (!out_) throw FileError("--log: writing metrics file '" + path_ + "' failed: " + system_reason());
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
