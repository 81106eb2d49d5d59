#pragma once
// What the experiment commands (curriculum, sweep, eval) share: their own options in front of
// the train options, a training run isolated on one process, and the refusals of options that
// make no sense for a run the command sets up itself.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tptt/app/options.hpp"
#include "tptt/io/json.hpp"
#include "tptt/io/paths.hpp"
#include "tptt/train/protocol.hpp"

namespace tptt {

// Exit code of a command stopped by SIGINT/SIGTERM (128 + SIGINT, as a shell reports it).
inline constexpr int kExitInterrupted = 130;

// A command's own options, taken out of its arguments; the rest are train options.
struct OwnOption {
  std::string name;   // "--out"
  std::string alias;  // "-T", or empty
  bool takes_value = true;
};
struct SplitArgs {
  std::map<std::string, std::string> own;  // by name; "" for an option without a value
  std::vector<std::string> rest;
};
// Accepts "--name value", "--name=value" (and "-Xvalue" for an alias); UsageError when a value
// is missing or an option is given twice.
SplitArgs split_own_options(const std::vector<std::string>& args, const std::vector<OwnOption>& own);

bool wants_help(const std::vector<std::string>& args);
// Whether the train arguments set an option (long name "--x" and its alias, any form).
bool sets_option(const std::vector<std::string>& args, const std::string& name, const std::string& alias = "");

// Integer option values; UsageError naming the option.
long parse_long_option(const std::string& option, const std::string& text, long min);
// "1,2,3" -> {1, 2, 3}; UsageError naming the option.
std::vector<std::uint64_t> parse_seed_list(const std::string& option, const std::string& text);

// The train options of a run the command sets up (logs, checkpoints, distribution are its own):
// UsageError naming the first option that cannot apply.
void refuse_per_run_options(const TrainCommand& command, const std::string& command_name);

// Under an MPI launcher with several ranks, a command that runs on one process says so on
// rank 0 and returns false (exit 2 on every rank); otherwise true. Finalises MPI if it started it.
bool single_process_launch(const std::string& command_name);

// One training run on this process alone (SoloCommunicator): metrics log at log_path (with
// {"config": …, "run": run_info + ranks, mode, schedule} as header), the progress line if the config asks for it, and
// a stop after the current iteration on SIGINT/SIGTERM (reason Interrupted).
RunSummary run_isolated(const TrainConfig& config, const std::string& log_path, const JsonObject& run_info);

// "path/name" without a doubled slash.
std::string join_path(const std::string& dir, const std::string& name);

// An experiment directory records the configuration it was run with as `key = value` lines
// ('#' lines are comments). The differences of `wanted` from `stored` ("key = a there, b here;
// …"), empty if none; keys only one side has (another tptt version) are not compared.
std::string identity_differences(const std::string& stored, const std::string& wanted);

// Numbers in result files: shortest round-trip form ("nan" / "inf" if not finite).
std::string format_number(double v);
std::string format_seconds(double s);  // 3 decimals
std::string format_mean(double v);     // 6 significant digits, for derived figures

}  // namespace tptt
