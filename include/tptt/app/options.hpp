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
  DistributedConfig dist;       // --sync, --staleness, --micro-batches, --decoupled
  std::string mpi = "auto";     // auto (MPI when started by mpirun/srun), on, off
  bool log_all_ranks = false;   // rank k > 0 also writes <log>.rank<k>
  bool overwrite = false;       // replace an existing --log (else refused, or continued by --resume)
  std::string save_params;      // rank 0 writes the final parameters (.npy, io/param_file.hpp)
  bool param_hash = false;      // each rank prints a hash of its final parameters
  long fail_at_iteration = -1;  // test aid: rank fail_rank fails at this iteration (< 0: never)
  int fail_rank = 0;
  std::string fail_kind = "throw";        // throw (an exception) or kill (SIGKILL to itself)
  std::string checkpoint;                 // rank 0 writes training checkpoints here (atomically)
  long checkpoint_every = 1000;           // iterations between checkpoints (also at the end and on SIGINT/SIGTERM)
  std::string resume;                     // continue from this checkpoint
  std::string save_best;                  // rank 0 writes the best-validated model here (a training checkpoint)
  bool diagnostics = false;               // per-check angle and per-step local losses (train/diagnostics.hpp)
  std::string trace;                      // Chrome trace-event timeline of the run (core/trace.hpp)
  std::string config_file;                // --config: the INI file options were read from
  bool micro_batches_from_ranks = false;  // --sync pipelined without --micro-batches: M = K (resolve_micro_batches)
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
  std::string resume_note;  // why the checkpoint's output paths are not reused, if they are not
};

// What --resume takes from the checkpoint besides the model's configuration: Run, also the
// stored run options (outputs, threads, mode; run_options_to_ini), so that a bare
// `tptt train --resume CKPT` continues the same log and checkpoint; ModelOnly for a command
// that only loads the model (eval).
enum class ResumeScope { Run, ModelOnly };

// Parses `tptt train` arguments (argv without the program and command names). Options may
// also come from an INI-style file given by --config and from the checkpoint of --resume; the
// command line wins, then --config, then the checkpoint. Throws UsageError (unknown option,
// bad value, failed validation) or FileError (unreadable checkpoint).
TrainCommand parse_train_command(const std::vector<std::string>& args, ResumeScope scope = ResumeScope::Run);

// The options of how a run was executed that a bare --resume restores, as key = value lines:
// log, checkpoint, save-params (absolute paths), checkpoint-every, threads, sync and
// micro-batches, log-all-ranks, diagnostics.
std::string run_options_to_ini(const TrainCommand& command);

// The --help text of the train options another command accepts: only the ones that apply there
// (curriculum: not the length; sweep: not the outputs and checkpoints; eval: what may change
// when a trained model is evaluated).
enum class HelpFor { Curriculum, Sweep, Eval };
std::string train_options_help(HelpFor command);

// Throws UsageError if an argument holds one of Boost.Program_options' message placeholders
// (%value%, …): Boost 1.74 loops forever formatting an error that quotes one. Call it before
// handing arguments (or a config file's text, with `where` naming it) to Boost.
void reject_boost_placeholders(const std::vector<std::string>& args);
void reject_boost_placeholders(const std::string& text, const std::string& where);

// --sync pipelined without --micro-batches: M = K ranks (at least 2, at most the batch), then
// validates the distributed options again. Does nothing otherwise.
void resolve_micro_batches(TrainCommand& command, int ranks);

// Whether two values of an INI line are the same: equal text, or equal numbers ("0.1" and the
// "0.10000000000000001" of files written by tptt 0.1.0).
bool same_option_value(const std::string& a, const std::string& b);

// The schedule of the G and F phases as labels print it: "alternate", "random(p_G=0.5)",
// "concurrent(p_G=0.5)"; "none" for bptt and lstm, which have no phases.
std::string schedule_label(const TrainConfig& config);

// The effective training configuration (TrainConfig's options).
JsonObject config_to_json(const TrainConfig& config);

// Every option of a `tptt train` command, as the metrics log's "config" holds it and the run
// prints it at start: config_to_json, then the run options (outputs, distribution, MPI,
// checkpoints, the --config file as config_file); keys are the long option names with '_'.
JsonObject command_to_json(const TrainCommand& command);

// The configuration as `key = value` lines that --config (and --resume) read back to the same
// TrainConfig: every option that defines the training, not where it runs (threads, logs,
// distribution), with doubles in round-trip precision.
std::string config_to_ini(const TrainConfig& config);

}  // namespace tptt
