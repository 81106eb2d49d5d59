#include "experiment_common.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "tptt/app/checkpointing.hpp"
#include "tptt/app/reporting.hpp"
#include "tptt/comm/communicator.hpp"
#include "tptt/comm/mpi_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/stop_signal.hpp"
#include "tptt/io/provenance.hpp"

namespace tptt {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

SplitArgs split_own_options(const std::vector<std::string>& args, const std::vector<OwnOption>& own) {
  SplitArgs split;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const OwnOption* match = nullptr;
    std::optional<std::string> value;
    for (const OwnOption& o : own) {
      if (a == o.name || (!o.alias.empty() && a == o.alias)) {
        match = &o;
      } else if (o.takes_value && starts_with(a, o.name + "=")) {
        match = &o, value = a.substr(o.name.size() + 1);
      } else if (o.takes_value && !o.alias.empty() && a.size() > o.alias.size() && starts_with(a, o.alias)) {
        match = &o, value = a.substr(o.alias.size());  // -T70
      }
      if (match) break;
    }
    if (!match) {
      split.rest.push_back(a);
      continue;
    }
    if (split.own.count(match->name)) throw UsageError(match->name + ": given more than once");
    if (match->takes_value && !value) {
      if (i + 1 >= args.size()) throw UsageError(match->name + ": needs a value");
      value = args[++i];
    }
    split.own[match->name] = value.value_or("");
  }
  return split;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

bool sets_option(const std::vector<std::string>& args, const std::string& name, const std::string& alias) {
  for (const std::string& a : args) {
    if (a == name || starts_with(a, name + "=")) return true;
    if (!alias.empty() && starts_with(a, alias)) return true;
  }
  return false;
}

long parse_long_option(const std::string& option, const std::string& text, long min) {
  const std::string t = trim(text);
  long value = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size())
    throw UsageError(option + ": expected an integer, got '" + text + "'");
  if (value < min) throw UsageError(option + ": must be at least " + std::to_string(min) + ", got " + t);
  return value;
}

std::vector<std::uint64_t> parse_seed_list(const std::string& option, const std::string& text) {
  std::vector<std::uint64_t> seeds;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    std::uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), seed);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size())
      throw UsageError(option + ": expected comma-separated non-negative integers, got '" + text + "'");
    for (std::uint64_t s : seeds)
      if (s == seed) throw UsageError(option + ": seed " + item + " is given twice");
    seeds.push_back(seed);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return seeds;
}

void refuse_per_run_options(const TrainCommand& cmd, const std::string& command_name) {
  const std::string in = ": not available in tptt " + command_name;
  const RunOptions& run = cmd.run;
  if (!cmd.config.log_path.empty())
    throw UsageError("--log" + in +
                     (command_name == "eval" ? "" : ", which writes one metrics log per run under --out"));
  if (!run.checkpoint.empty())
    throw UsageError("--checkpoint" + in + " (train one model with tptt train --checkpoint)");
  if (!run.resume.empty()) throw UsageError("--resume" + in + " (it resumes from the results under --out)");
  if (!run.save_params.empty()) throw UsageError("--save-params" + in);
  if (!run.save_best.empty()) throw UsageError("--save-best" + in + " (train one model with tptt train --save-best)");
  if (!run.trace.empty()) throw UsageError("--trace" + in + " (trace one run with tptt train --trace)");
  if (run.fail_at_iteration >= 0) throw UsageError("--fail-at-iteration" + in);
  if (run.overwrite) throw UsageError("--overwrite" + in);
  if (run.diagnostics) throw UsageError("--diagnostics" + in + " (use tptt train --diagnostics)");
  if (run.log_all_ranks) throw UsageError("--log-all-ranks" + in);
  if (run.param_hash) throw UsageError("--param-hash" + in);
  if (!run.dist.is_plain_exact())
    throw UsageError("--sync/--staleness/--micro-batches/--decoupled" + in +
                     ", which trains each model on one process");
}

bool single_process_launch(const std::string& command_name) {
  if (!launched_by_mpi_launcher()) return true;
  int size = 1, rank = 0;
  {
    MpiCommunicator mpi;
    size = mpi.size();
    rank = mpi.rank();
    mpi.finalize();
  }
  if (size == 1) return true;
  if (rank == 0)
    std::cerr << "tptt: tptt " << command_name << " runs on one process, not " << size
              << " MPI ranks: start it without mpirun (tptt sweep spreads independent runs over ranks)" << std::endl;
  return false;
}

RunSummary run_isolated(const TrainConfig& config, const std::string& log_path, const JsonObject& run_info) {
  SoloCommunicator solo;
  const std::unique_ptr<Learner> learner = make_learner(config, solo);
  std::vector<RunObserver*> observers;
  std::unique_ptr<MetricsLog> log;
  if (!log_path.empty()) {
    const JsonObject run =
        JsonObject(run_info).add("ranks", 1).add("mode", "exact").add("schedule", schedule_label(config));
    log = std::make_unique<MetricsLog>(
        log_path,
        JsonObject().add("config", config_to_json(config)).add("run", run).add("provenance", provenance_json()));
    observers.push_back(log.get());
  }
  ProgressLine progress(config.max_iterations);
  if (config.progress) observers.push_back(&progress);
  install_stop_handlers();
  ProtocolHooks hooks;
  hooks.after_iteration = [](const ProtocolProgress&) { return stop_signal() != 0; };
  return run_protocol(*learner, observers, {}, hooks);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

namespace {

std::vector<std::pair<std::string, std::string>> key_values(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    if (!line.empty() && line[0] != '#' && eq != std::string::npos)
      pairs.emplace_back(line.substr(0, eq), line.substr(eq + 3));
  }
  return pairs;
}

}  // namespace

std::string identity_differences(const std::string& stored, const std::string& wanted) {
  const auto there = key_values(stored);
  std::string differences;
  for (const auto& [key, value] : key_values(wanted))
    for (const auto& [k, v] : there)
      if (k == key && !same_option_value(v, value))
        differences += (differences.empty() ? "" : "; ") + key + " = " + v + " there, " + value + " here";
  return differences;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return json_number(v);
}

std::string format_mean(double v) {
  if (!std::isfinite(v)) return format_number(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace tptt
