#pragma once
// Command-line and config-file options of `tptt train`, in one place (Boost.Program_options).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tptt/io/checkpoint.hpp"
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
  std::string checkpoint;        // rank 0 writes training checkpoints here (atomically)
  long checkpoint_every = 1000;  // iterations between checkpoints (also at the end and on SIGINT/SIGTERM)
  std::string resume;            // continue from this checkpoint
  bool diagnostics = false;      // per-check angle and per-step local losses (train/diagnostics.hpp)
  std::string trace;             // Chrome trace-event timeline of the run (core/trace.hpp)
};

struct TrainCommand {
  TrainConfig config;
  RunOptions run;
  bool help = false;
  std::string help_text;  // filled when help is true
  // --resume: the checkpoint (read and verified while parsing: its configuration is the base
  // the command line and --config override), and the options whose values differ from it.
  std::shared_ptr<const Checkpoint> resume_from;
  std::vector<std::string> changed_on_resume;
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

// The configuration as `key = value` lines that --config (and --resume) read back to the same
// TrainConfig: every option that defines the training, not where it runs (threads, logs,
// distribution), with doubles in round-trip precision.
std::string config_to_ini(const TrainConfig& config);

}  // namespace tptt
