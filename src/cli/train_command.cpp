// `tptt train`: parse, set up the communicator (MPI when started by a launcher), print the
// effective configuration, run the protocol, print a summary.
//
// Failure handling over K ranks (docs/distributed.md):
// - Setup (options, trainer, files) does no communication. Its failures are agreed on by one
//   all-reduce: the lowest failing rank prints its message, every rank finalises MPI and
//   exits with that rank's code (2 usage, 3 file, 1 other) — e.g. K > T exits 2 everywhere.
// - During training a failure on one rank cannot be agreed on (the others are blocked in
//   messages of the iteration): that rank prints "tptt: rank K: <what>" and calls MPI_Abort
//   with the code, which ends every rank of the job.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include <unistd.h>

#include "cli_commands.hpp"
#include "rank_failures.hpp"
#include "tptt/app/checkpointing.hpp"
#include "tptt/app/options.hpp"
#include "tptt/app/reporting.hpp"
#include "tptt/comm/fault_injection.hpp"
#include "tptt/comm/mpi_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/stop_signal.hpp"
#include "tptt/core/trace.hpp"
#include "tptt/io/param_file.hpp"
#include "tptt/io/paths.hpp"
#include "tptt/io/provenance.hpp"
#include "tptt/train/distributed_config.hpp"
#include "tptt/train/protocol.hpp"

namespace tptt {

namespace {


// Whether every rank holds the same parameter hash: the all-reduced sums of the hash's four
// 16-bit pieces and of their squares equal K times this rank's piece (square) only if no
// rank differs. Exact in double. Collective.
bool replicas_identical(Communicator& comm, std::uint64_t hash) {
  double sums[8];
  for (int j = 0; j < 4; ++j) {
    const double piece = static_cast<double>((hash >> (16 * j)) & 0xffffu);
    sums[j] = piece;
    sums[4 + j] = piece * piece;
  }
  comm.allreduce_sum(std::span<double>(sums, 8));
  const double K = comm.size();
  for (int j = 0; j < 4; ++j) {
    const double piece = static_cast<double>((hash >> (16 * j)) & 0xffffu);
    if (sums[j] != K * piece || sums[4 + j] != K * piece * piece) return false;
  }
  return true;
}

// Creates the directory of a checkpoint file (--checkpoint, --save-best) and refuses one that
// could not be written later (a read-only directory), so that the mistake costs nothing instead
// of the first checkpoint's work.
void prepare_checkpoint_path(const std::string& path, const std::string& option) {
  ensure_parent_directory(path, option);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (::access(dir.empty() ? "." : dir.c_str(), W_OK | X_OK) != 0)
    throw FileError(option + ": cannot write '" + path + "': directory '" + (dir.empty() ? "." : dir) +
                    "': " + system_reason());
}

// The timeline of every rank in one trace file. Each rank writes its events next to the file;
// after all have, rank 0 joins them (on a cluster without a shared file system the parts of
// other nodes' ranks stay where they are, and rank 0 says so).
void write_trace(const std::string& path, Communicator& comm) {
  const int K = comm.size(), k = comm.rank();
  const auto part_path = [&path](int rank) { return path + ".rank" + std::to_string(rank); };
  if (k > 0) {
    std::ofstream part(part_path(k), std::ios::trunc);
    part << trace_events_json();
    if (!part) throw FileError("--trace: cannot write '" + part_path(k) + "': " + system_reason());
  }
  double written = 1;
  if (K > 1) comm.allreduce_sum(std::span<double>(&written, 1));  // every part is on disk
  if (k > 0) return;
  std::ofstream out(path, std::ios::trunc);
  out << "[" << trace_events_json();
  for (int r = 1; r < K; ++r) {
    std::ifstream part(part_path(r));
    if (!part) {
      std::cerr << "tptt: --trace: the part of rank " << r << " is not readable here ('" << part_path(r)
                << "'); the trace holds the ranks that are\n";
      continue;
    }
    out << "," << part.rdbuf();
    part.close();
    std::remove(part_path(r).c_str());
  }
  out << "]\n";
  if (!out) throw FileError("--trace: cannot write '" + path + "': " + system_reason());
}

// Writes checkpoints and the best model (rank 0), and turns SIGINT/SIGTERM/SIGUSR1 into a stop
// agreed by every rank.
class CheckpointWriter {
 public:
  // `start`: the progress of the checkpoint this run resumed (a fresh run: the default), whose
  // best model --save-best already holds.
  CheckpointWriter(const TrainCommand& cmd, Learner& learner, Communicator& comm, const ProtocolProgress& start)
      : cmd_(cmd),
        learner_(learner),
        comm_(comm),
        last_written_(!cmd.run.checkpoint.empty() && cmd.run.checkpoint == cmd.run.resume && cmd.resume_from
                          ? start.iteration
                          : -1),
        best_written_(start.best_error) {}

  // ProtocolHooks::after_iteration: true when any rank has been asked to stop. One small
  // blocking all-reduce per iteration so that every rank stops after the same iteration. It
  // costs nothing measurable even in stale mode (K = 2, T = 400: 5.40 s for 300 iterations with
  // and without it). A non-blocking one cannot be used: stale mode starts its gradient
  // all-reduces at iterations that differ by rank, so the order of non-blocking collectives
  // would differ between ranks.
  bool after_iteration(const ProtocolProgress& p) {
    double stop = stop_signal() != 0 ? 1.0 : 0.0;
    if (comm_.size() > 1) comm_.allreduce_sum(std::span<double>(&stop, 1));
    if (stop > 0 || due(p.iteration)) write(p);
    if (p.best_error < best_written_) write_best(p);  // the check just validated these parameters
    return stop > 0;
  }
  // ProtocolHooks::checkpoint_due: the periodic checkpoints.
  bool due(long iteration) const { return !cmd_.run.checkpoint.empty() && iteration % cmd_.run.checkpoint_every == 0; }

  // A progress with an asynchronous check pending is not written (it would lose the check):
  // the protocol completes pending checks before the periodic checkpoints, and on a stop
  // request the final checkpoint after the protocol holds it.
  void write(const ProtocolProgress& p) {
    if (cmd_.run.checkpoint.empty() || p.check_pending) return;
    learner_.settle();  // collective: the work in flight, complete on rank 0
    if (comm_.rank() == 0) write_checkpoint_atomic(cmd_.run.checkpoint, make_training_checkpoint(cmd_, learner_, p));
    last_written_ = p.iteration;
  }
  long last_written() const { return last_written_; }

  // --save-best: the model of a check that set a new best error, written right after that check
  // (synchronous validation: the parameters are the ones validated). At the end of a run the
  // last check's model is still in place; it is written when that check was the best.
  void write_best(const ProtocolProgress& p) {
    if (cmd_.run.save_best.empty() || p.check_pending) return;
    learner_.settle();
    if (comm_.rank() == 0) write_checkpoint_atomic(cmd_.run.save_best, make_training_checkpoint(cmd_, learner_, p));
    best_written_ = p.best_error;
  }
  void write_best_at_end(const ProtocolProgress& p) {
    if (p.best_error < best_written_ && p.final_error == p.best_error) write_best(p);
  }

 private:
  const TrainCommand& cmd_;
  Learner& learner_;
  Communicator& comm_;
  long last_written_;
  double best_written_;  // the best error of the model in --save-best
};

// What a user needs to know when a run ends early: how to resume, or what was kept.
void report_stop(const TrainCommand& cmd, const RunSummary& summary, long last_checkpoint) {
  const std::string& path = cmd.run.checkpoint;
  if (summary.reason == StopReason::Interrupted) {
    const int s = stop_signal();
    std::cerr << "tptt: stopped by "
              << (s == SIGINT    ? "SIGINT"
                  : s == SIGUSR1 ? "SIGUSR1"
                                 : "SIGTERM")
              << " after iteration " << summary.iterations;
    if (path.empty())
      std::cerr << "; no --checkpoint was given, nothing saved\n";
    else
      std::cerr << "; checkpoint written to '" << path << "'. Resume with: tptt train --resume " << shell_quoted({path})
                << " (on any number of ranks; it continues "
                << (cmd.config.log_path.empty()
                        ? std::string("the checkpoint")
                        : "the log " + shell_quoted({cmd.config.log_path}) + " and the checkpoint")
                << ")\n";
  } else if (diverged(summary.reason)) {
    std::cerr << "tptt: the run diverged (" << to_string(summary.reason) << ") at iteration " << summary.iterations;
    if (!path.empty() && last_checkpoint >= 0)
      std::cerr << "; the last good checkpoint '" << path << "' (iteration " << last_checkpoint << ") is kept\n";
    else
      std::cerr << "; no checkpoint was written\n";
  }
}

// The communicator of the run: MPI when a launcher started us (or --mpi on); a plain
// `tptt train` stays MPI-free. An unparsable command line still starts MPI under a launcher,
// so that every rank can agree on the failure.
class Ranks {
 public:
  explicit Ranks(const std::optional<TrainCommand>& parsed) {
    bool use_mpi = launched_by_mpi_launcher();
    if (parsed) use_mpi = parsed->run.mpi == "on" || (parsed->run.mpi == "auto" && use_mpi);
    mpi_ = start_mpi(use_mpi);
    size_ = comm().size();
    rank_ = comm().rank();
  }
  Communicator& comm() { return mpi_ ? static_cast<Communicator&>(*mpi_) : solo_; }
  MpiCommunicator* mpi() const { return mpi_.get(); }
  int size() const { return size_; }  // K
  int rank() const { return rank_; }  // k
  // Finalises MPI (if started) and returns `code`.
  int finish(int code) { return finish_mpi(mpi_.get(), code); }

 private:
  SoloCommunicator solo_;
  std::unique_ptr<MpiCommunicator> mpi_;
  int size_ = 1, rank_ = 0;
};

// What the set-up prepares on each rank, before the ranks agree that it succeeded.
struct RunSetup {
  std::unique_ptr<FaultInjectingCommunicator> faulty;
  std::unique_ptr<Learner> learner;
  ProtocolProgress start;  // of the checkpoint when resuming
  std::unique_ptr<MetricsLog> log;
  std::unique_ptr<ProgressLine> progress;
  std::vector<RunObserver*> observers;
  std::ofstream params_out;
  JsonObject config_json, run_json;
};

// Where this rank writes a metrics log, if it writes one: rank 0 the --log file, rank k > 0
// <log>.rank<k> with --log-all-ranks.
struct LogTarget {
  bool writes = false;
  std::string path;
};

LogTarget log_target(const TrainCommand& cmd, int k) {
  LogTarget target;
  target.writes = !cmd.config.log_path.empty() && (k == 0 || cmd.run.log_all_ranks);
  target.path = k == 0 ? cmd.config.log_path : cmd.config.log_path + ".rank" + std::to_string(k);
  return target;
}

std::optional<TrainCommand> parse(const std::vector<std::string>& args, Failure& failure) {
  try {
    return parse_train_command(args);
  } catch (...) {
    failure = classify(std::current_exception());
    return std::nullopt;
  }
}

void refuse_decoupled_on_one_rank(const RunOptions& run, int K) {
  if (run.dist.decoupled && K < 2)
    throw UsageError(
        "--decoupled: needs more than one rank (mpirun -np K, K >= 2); one segment has no boundary "
        "target to predict");
}

void refuse_existing_log(const TrainCommand& cmd, const LogTarget& log) {
  if (log.writes && !cmd.resume_from && !cmd.run.overwrite && file_exists(log.path))
    throw UsageError("--log: '" + log.path +
                     "' exists; continue its run with --resume CHECKPOINT, or replace it "
                     "with --overwrite");
}

// The communicator the learner trains with: the run's, or with --fail-at-iteration (the fault
// tests) one that fails as planned.
Communicator& trainer_communicator(const RunOptions& run, Ranks& ranks, RunSetup& s) {
  if (run.fail_at_iteration < 0) return ranks.comm();
  const int K = ranks.size();
  if (K < 2) throw UsageError("--fail-at-iteration: needs more than one rank (mpirun -np K, K >= 2)");
  if (run.fail_rank >= K)
    throw UsageError("--fail-rank: " + std::to_string(run.fail_rank) + " is not a rank of this job (0.." +
                     std::to_string(K - 1) + ")");
  s.faulty = std::make_unique<FaultInjectingCommunicator>(
      ranks.comm(), FaultPlan{run.fail_at_iteration, run.fail_rank, parse_fault_kind(run.fail_kind)});
  return *s.faulty;
}

void refuse_async_validation_on_ranks(const TrainConfig& config, int K) {
  if (config.async_validation && K > 1)
    throw UsageError("--async-validation: runs on one rank, not " + std::to_string(K) +
                     " (validation of K ranks is a collective, which must not interleave with training's "
                     "in a different order on different ranks); drop it (--async-validation=false) or run one rank");
}

// How the run is executed, as the log's "run" and the start line under MPI print it.
// On a simulated cluster, its platform and this rank's host; empty on a real one.
std::string simulated_platform(const Ranks& ranks) {
  return ranks.mpi() ? ranks.mpi()->simulated_platform() : std::string();
}

JsonObject run_description(const TrainCommand& cmd, const Ranks& ranks) {
  const RunOptions& run = cmd.run;
  JsonObject run_json;
  run_json.add("ranks", ranks.size()).add("mode", run.dist.mode_name()).add("schedule", schedule_label(cmd.config));
  run_json.add("sync", to_string(run.dist.sync)).add("staleness", run.dist.staleness);
  if (run.dist.auto_micro_batches)
    run_json.add("micro_batches", "auto");
  else
    run_json.add("micro_batches", run.dist.micro_batches);
  run_json.add("staleness_compensation", to_string(run.dist.compensation));
  if (run.dist.uses_dc_lambda()) run_json.add("dc_lambda", run.dist.dc_lambda);
  run_json.add("decoupled", run.dist.decoupled)
      .add("transport", ranks.mpi() ? "mpi" : "solo")
      .add("rank", ranks.rank());
  if (ranks.mpi())
    run_json.add("mpi_thread_level", ranks.mpi()->thread_level()).add("mpi_library", ranks.mpi()->library_version());
  if (const std::string platform = simulated_platform(ranks); !platform.empty()) run_json.add("simulated", platform);
  return run_json;
}

// The metrics log: a new one with its header, or with --resume the log continued after the
// checkpoint's iteration with a "resumed" record.
void open_log(const TrainCommand& cmd, const std::string& path, RunSetup& s) {
  ensure_parent_directory(path, "--log");
  const JsonObject provenance = provenance_json();
  const JsonObject header =
      JsonObject().add("config", s.config_json).add("run", s.run_json).add("provenance", provenance);
  if (cmd.resume_from && !cmd.run.overwrite)
    s.log = std::make_unique<MetricsLog>(path, header, s.start.iteration,
                                         JsonObject().add("resumed", JsonObject()
                                                                         .add("iteration", s.start.iteration)
                                                                         .add("from", cmd.run.resume)
                                                                         .add("config", s.config_json)
                                                                         .add("run", s.run_json)
                                                                         .add("provenance", provenance)));
  else
    s.log = std::make_unique<MetricsLog>(path, header);
  s.observers.push_back(s.log.get());
}

// Rank 0's other outputs: the --save-params file (opened now, so that a bad path costs no
// training), the --trace file's directory and the progress line.
void open_rank0_outputs(const TrainCommand& cmd, int k, RunSetup& s) {
  if (k != 0) return;
  const RunOptions& run = cmd.run;
  if (!run.save_params.empty()) {
    ensure_parent_directory(run.save_params, "--save-params");
    s.params_out.open(run.save_params, std::ios::binary | std::ios::trunc);
    if (!s.params_out)
      throw FileError("--save-params: cannot write parameter file '" + run.save_params + "': " + system_reason());
  }
  if (!run.trace.empty()) ensure_parent_directory(run.trace, "--trace");
  if (cmd.config.progress) {
    s.progress = std::make_unique<ProgressLine>(cmd.config.max_iterations);
    s.observers.push_back(s.progress.get());
  }
}

// The set-up of this rank: no communication in here, so every rank reaches the agreement
// that follows. Returns the failure instead of throwing it.
Failure set_up(TrainCommand& parsed, Ranks& ranks, RunSetup& s) {
  try {
    resolve_micro_batches(parsed, ranks.size());
    const TrainCommand& cmd = parsed;
    check_threads_per_rank(ranks.mpi(), cmd.config.threads);
    refuse_decoupled_on_one_rank(cmd.run, ranks.size());
    const LogTarget log = log_target(cmd, ranks.rank());
    refuse_existing_log(cmd, log);
    Communicator& trainer_comm = trainer_communicator(cmd.run, ranks, s);
    refuse_async_validation_on_ranks(cmd.config, ranks.size());
    // Validates, refuses K > T and a run that cannot fit in memory, sets up the distributed mode.
    s.learner = make_learner(cmd.config, trainer_comm, cmd.run.dist);
    if (cmd.resume_from) s.start = restore_training_checkpoint(*cmd.resume_from, *s.learner);
    if (ranks.rank() == 0 && !cmd.run.checkpoint.empty()) prepare_checkpoint_path(cmd.run.checkpoint, "--checkpoint");
    if (ranks.rank() == 0 && !cmd.run.save_best.empty()) prepare_checkpoint_path(cmd.run.save_best, "--save-best");
    s.config_json = command_to_json(cmd);
    s.run_json = run_description(cmd, ranks);
    if (log.writes) open_log(cmd, log.path, s);
    open_rank0_outputs(cmd, ranks.rank(), s);
  } catch (...) {
    return classify(std::current_exception());
  }
  return {};
}

// Every rank learns whether the set-up succeeded everywhere (under MPI one all-reduce; the
// lowest failing rank prints its message). Returns the exit code, 0 to go on.
int agree_on(const Failure& mine, Ranks& ranks) {
  if (ranks.mpi()) {
    try {
      return agree_on_setup(ranks.comm(), mine);
    } catch (const std::exception& e) {
      abort_job(1, "rank " + std::to_string(ranks.rank()) + ": error: " + e.what());
    }
  }
  if (mine.code != 0) std::cerr << "tptt: " << mine.what << std::endl;
  return mine.code;
}

// Rank 0 prints the effective configuration, and what a resumed run continues from.
void announce(const TrainCommand& cmd, const RunSetup& s, const Ranks& ranks) {
  if (ranks.rank() != 0) return;
  std::cerr << "tptt train: " << s.config_json.str() << "\n";
  if (ranks.mpi()) std::cerr << "tptt train: run " << s.run_json.str() << "\n";
  if (cmd.resume_from) {
    std::cerr << "tptt train: resuming '" << cmd.run.resume << "' after iteration " << s.start.iteration << "\n";
    if (!cmd.resume_note.empty()) std::cerr << "tptt train: note: " << cmd.resume_note << "\n";
    for (const std::string& change : cmd.changed_on_resume)
      std::cerr << "tptt train: warning: resumed with a changed option, " << change
                << "; the run will differ from an uninterrupted one\n";
  }
}

// --micro-batches auto: chosen now; checkpoints then store the M chosen, so a resumed run
// continues with it.
void apply_automatic_choices(TrainCommand& cmd, Learner& learner, int k) {
  if (const Learner::AutomaticChoice choice = learner.choose_automatic_options(); choice.micro_batches > 0) {
    cmd.run.dist.micro_batches = choice.micro_batches;
    cmd.run.dist.auto_micro_batches = false;
    if (k == 0) std::cerr << "tptt train: " + choice.report + "\n" << std::flush;
  }
}

ProtocolHooks protocol_hooks(const TrainCommand& cmd, Learner& learner, CheckpointWriter& checkpoints, int k) {
  ProtocolHooks hooks;
  hooks.after_iteration = [&checkpoints](const ProtocolProgress& p) { return checkpoints.after_iteration(p); };
  hooks.checkpoint_due = [&checkpoints](long iteration) { return checkpoints.due(iteration); };
  if (cmd.run.diagnostics && (k == 0 || cmd.run.log_all_ranks))  // every rank holds the whole θ: no messages
    hooks.diagnostics = [&learner](long iteration) { return learner.diagnostics(iteration); };
  return hooks;
}

// --param-hash: this rank's hash of the final parameters, and whether every replica has it.
struct ReplicaHash {
  std::uint64_t hash = 0;
  bool identical = true;
};

ReplicaHash hash_replicas(const TrainCommand& cmd, const VecF& theta, Communicator& comm) {
  ReplicaHash h;
  if (!cmd.run.param_hash) return h;
  h.hash = param_hash(theta);
  std::fprintf(stderr, "tptt: rank %d: param_hash %s\n", comm.rank(), hash_hex(h.hash).c_str());
  std::fflush(stderr);
  h.identical = replicas_identical(comm, h.hash);
  return h;
}

// The one line of JSON on stdout: what ran and its result.
JsonObject summary_line(const TrainCommand& cmd, const Ranks& ranks, const RunSummary& summary, const ReplicaHash& h) {
  const TrainConfig& cfg = cmd.config;
  JsonObject out;
  out.add("algorithm", to_string(cfg.algorithm)).add("task", to_string(cfg.task)).add("length", cfg.length);
  out.add("seed", cfg.seed).add("ranks", ranks.size()).add("mode", cmd.run.dist.mode_name());
  out.add("schedule", schedule_label(cfg));
  if (const std::string platform = simulated_platform(ranks); !platform.empty()) out.add("simulated", platform);
  if (cmd.run.param_hash) out.add("param_hash", hash_hex(h.hash)).add("replicas_identical", h.identical);
  out.add_raw("result", summary.to_json().str());
  return out;
}

// The results of a finished run: the parameter hashes, the parameter file, the trace and the
// summary line.
void write_results(const TrainCommand& cmd, const RunSummary& summary, RunSetup& s, Ranks& ranks) {
  const VecF& theta = s.learner->flat_params();
  const ReplicaHash h = hash_replicas(cmd, theta, ranks.comm());
  if (s.params_out.is_open()) write_params_npy(s.params_out, theta);
  if (!cmd.run.trace.empty()) write_trace(cmd.run.trace, ranks.comm());
  if (ranks.rank() == 0) std::cout << summary_line(cmd, ranks, summary, h).str() << std::endl;
}

// Trains and reports. A failure on one rank ends every rank of the job (the others may be
// waiting for it).
int train(TrainCommand& parsed, RunSetup& s, Ranks& ranks) {
  const TrainCommand& cmd = parsed;
  const int k = ranks.rank();
  try {
    if (!cmd.run.trace.empty()) start_trace(k);
    apply_automatic_choices(parsed, *s.learner, k);
    install_stop_handlers();
    CheckpointWriter checkpoints(cmd, *s.learner, ranks.comm(), s.start);
    const RunSummary summary = run_protocol(*s.learner, s.observers, s.start,
                                            protocol_hooks(cmd, *s.learner, checkpoints, k));
    if (!diverged(summary.reason) && checkpoints.last_written() != summary.progress.iteration)
      checkpoints.write(summary.progress);  // the final checkpoint
    if (!diverged(summary.reason)) checkpoints.write_best_at_end(summary.progress);
    if (k == 0) report_stop(cmd, summary, checkpoints.last_written());
    write_results(cmd, summary, s, ranks);
  } catch (...) {
    const Failure failure = classify(std::current_exception());
    if (ranks.size() > 1) abort_job(failure.code, failure_message(ranks.comm(), failure));
    std::cerr << "tptt: " << failure.what << std::endl;
    return ranks.finish(failure.code);
  }
  return ranks.finish(0);
}

}  // namespace

int run_train(const std::vector<std::string>& args) {
  Failure failure;
  std::optional<TrainCommand> parsed = parse(args, failure);
  Ranks ranks(parsed);
  if (parsed && parsed->help) {
    if (ranks.rank() == 0) std::cout << parsed->help_text;
    return ranks.finish(0);
  }
  RunSetup setup;
  if (failure.code == 0) failure = set_up(*parsed, ranks, setup);
  if (const int code = agree_on(failure, ranks); code != 0) return ranks.finish(code);
  announce(*parsed, setup, ranks);
  return train(*parsed, setup, ranks);
}

}  // namespace tptt
