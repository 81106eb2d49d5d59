#pragma once
// Command-line and config-file options of `tptt train`, in one place (Boost.Program_options).
#include <optional>
#include <string>
#include <vector>

#include "tptt/io/json.hpp"
#include "tptt/train/config.hpp"
#include "tptt/train/distributed_config.hpp"

namespace tptt {

// Options that configure the process rather than the training: MPI, per-rank logs, the final
// parameters, and fault injection for the fault tests (docs/distributed.md).
struct RunOptions {
  DistributedConfig dist;        // --sync, --staleness, --micro-batches, --decoupled
  std::string mpi = "auto";      // auto (MPI when started by mpirun/srun), on, off
  bool log_all_ranks = false;    // rank k > 0 also writes <log>.rank<k>
  std::string save_params;       // rank 0 writes the final parameters (.npy, io/param_file.hpp)
  bool param_hash = false;       // each rank prints a hash of its final parameters
  long fail_at_iteration = -1;   // test aid: rank fail_rank fails at this iteration (< 0: never)
  int fail_rank = 0;
  std::string fail_kind = "throw";  // throw (an exception) or kill (SIGKILL to itself)
};

struct TrainCommand {
  TrainConfig config;
  RunOptions run;
  bool help = false;
  std::string help_text;  // filled when help is true
};

// Parses `tptt train` arguments (argv without the program and command names). Options may
// also come from an INI-style file given by --config; the command line wins. Throws
// UsageError (unknown option, bad value, failed validation) or FileError (unreadable config).
TrainCommand parse_train_command(const std::vector<std::string>& args);

// Throws UsageError if an argument holds one of Boost.Program_options' message placeholders
// (%value%, …): Boost 1.74 loops forever formatting an error that quotes one. Call it before
// handing arguments (or a config file's text, with `where` naming it) to Boost.
void reject_boost_placeholders(const std::vector<std::string>& args);
void reject_boost_placeholders(const std::string& text, const std::string& where);

// The effective configuration, as stored in the metrics log and printed at start.
JsonObject config_to_json(const TrainConfig& config);

}  // namespace tptt
