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

// Creates the directory of the --checkpoint file and refuses one that could not be written
// later (a read-only directory), so that the mistake costs nothing instead of the first
// checkpoint's work.
void prepare_checkpoint_path(const std::string& path) {
  ensure_parent_directory(path, "--checkpoint");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (::access(dir.empty() ? "." : dir.c_str(), W_OK | X_OK) != 0)
    throw FileError("--checkpoint: cannot write '" + path + "': directory '" + (dir.empty() ? "." : dir) +
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

// Writes checkpoints (rank 0) and turns SIGINT/SIGTERM/SIGUSR1 into a stop agreed by every rank.
class CheckpointWriter {
 public:
  // `resumed_at`: the iteration of the checkpoint this run resumed (−1 for a fresh run).
  CheckpointWriter(const TrainCommand& cmd, Learner& learner, Communicator& comm, long resumed_at)
      : cmd_(cmd),
        learner_(learner),
        comm_(comm),
        last_written_(!cmd.run.checkpoint.empty() && cmd.run.checkpoint == cmd.run.resume ? resumed_at : -1) {}

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

 private:
  const TrainCommand& cmd_;
  Learner& learner_;
  Communicator& comm_;
  long last_written_;
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

}  // namespace

int run_train(const std::vector<std::string>& args) {
  std::optional<TrainCommand> parsed;
  Failure setup;
  try {
    parsed = parse_train_command(args);
  } catch (...) {
    setup = classify(std::current_exception());
  }

  // MPI when a launcher started us (or --mpi on); a plain `tptt train` stays MPI-free.
  bool use_mpi = launched_by_mpi_launcher();
  if (parsed) use_mpi = parsed->run.mpi == "on" || (parsed->run.mpi == "auto" && use_mpi);
  SoloCommunicator solo;
  std::unique_ptr<MpiCommunicator> mpi = start_mpi(use_mpi);
  Communicator& comm = mpi ? static_cast<Communicator&>(*mpi) : solo;
  const int K = comm.size(), k = comm.rank();
  const auto finish = [&](int code) { return finish_mpi(mpi.get(), code); };

  if (parsed && parsed->help) {
    if (k == 0) std::cout << parsed->help_text;
    return finish(0);
  }

  // Setup: no communication in here, so every rank reaches the agreement below.
  std::unique_ptr<FaultInjectingCommunicator> faulty;
  std::unique_ptr<Learner> learner;
  ProtocolProgress start;  // of the checkpoint when resuming
  std::unique_ptr<MetricsLog> log;
  std::unique_ptr<ProgressLine> progress;
  std::vector<RunObserver*> observers;
  std::ofstream params_out;
  JsonObject config_json, run_json;
  if (setup.code == 0) {
    try {
      resolve_micro_batches(*parsed, K);
      const TrainCommand& cmd = *parsed;
      const RunOptions& run = cmd.run;
      check_threads_per_rank(mpi.get(), cmd.config.threads);
      if (run.dist.decoupled && K < 2)
        throw UsageError(
            "--decoupled: needs more than one rank (mpirun -np K, K >= 2); one segment has no boundary "
            "target to predict");
      const bool writes_log = !cmd.config.log_path.empty() && (k == 0 || run.log_all_ranks);
      const std::string log_path = k == 0 ? cmd.config.log_path : cmd.config.log_path + ".rank" + std::to_string(k);
      if (writes_log && !cmd.resume_from && !run.overwrite && file_exists(log_path))
        throw UsageError("--log: '" + log_path +
                         "' exists; continue its run with --resume CHECKPOINT, or replace it "
                         "with --overwrite");
      Communicator* trainer_comm = &comm;
      if (run.fail_at_iteration >= 0) {
        if (K < 2) throw UsageError("--fail-at-iteration: needs more than one rank (mpirun -np K, K >= 2)");
        if (run.fail_rank >= K)
          throw UsageError("--fail-rank: " + std::to_string(run.fail_rank) + " is not a rank of this job (0.." +
                           std::to_string(K - 1) + ")");
        faulty = std::make_unique<FaultInjectingCommunicator>(
            comm, FaultPlan{run.fail_at_iteration, run.fail_rank, parse_fault_kind(run.fail_kind)});
        trainer_comm = faulty.get();
      }
      if (cmd.config.async_validation && K > 1)
        throw UsageError(
            "--async-validation: runs on one rank, not " + std::to_string(K) +
            " (validation of K ranks is a collective, which must not interleave with training's "
            "in a different order on different ranks); drop it (--async-validation=false) or run one rank");
      // Validates, refuses K > T and a run that cannot fit in memory, sets up the distributed mode.
      learner = make_learner(cmd.config, *trainer_comm, run.dist);
      if (cmd.resume_from) start = restore_training_checkpoint(*cmd.resume_from, *learner);
      if (k == 0 && !run.checkpoint.empty()) prepare_checkpoint_path(run.checkpoint);

      config_json = config_to_json(cmd.config);
      run_json.add("ranks", K).add("mode", run.dist.mode_name()).add("schedule", schedule_label(cmd.config));
      run_json.add("sync", to_string(run.dist.sync)).add("staleness", run.dist.staleness);
      if (run.dist.auto_micro_batches)
        run_json.add("micro_batches", "auto");
      else
        run_json.add("micro_batches", run.dist.micro_batches);
      run_json.add("staleness_compensation", to_string(run.dist.compensation));
      if (run.dist.uses_dc_lambda()) run_json.add("dc_lambda", run.dist.dc_lambda);
      run_json.add("decoupled", run.dist.decoupled).add("transport", mpi ? "mpi" : "solo").add("rank", k);
      if (mpi) run_json.add("mpi_thread_level", mpi->thread_level()).add("mpi_library", mpi->library_version());
      if (mpi && !mpi->simulated_platform().empty()) run_json.add("simulated", mpi->simulated_platform());
      if (writes_log) {
        const std::string& path = log_path;
        ensure_parent_directory(path, "--log");
        const JsonObject provenance = provenance_json();
        const JsonObject header =
            JsonObject().add("config", config_json).add("run", run_json).add("provenance", provenance);
        if (cmd.resume_from && !run.overwrite)
          log = std::make_unique<MetricsLog>(path, header, start.iteration,
                                             JsonObject().add("resumed", JsonObject()
                                                                             .add("iteration", start.iteration)
                                                                             .add("from", run.resume)
                                                                             .add("config", config_json)
                                                                             .add("run", run_json)
                                                                             .add("provenance", provenance)));
        else
          log = std::make_unique<MetricsLog>(path, header);
        observers.push_back(log.get());
      }
      if (k == 0 && !run.save_params.empty()) {
        ensure_parent_directory(run.save_params, "--save-params");
        params_out.open(run.save_params, std::ios::binary | std::ios::trunc);
        if (!params_out)
          throw FileError("--save-params: cannot write parameter file '" + run.save_params + "': " + system_reason());
      }
      if (k == 0 && !run.trace.empty()) ensure_parent_directory(run.trace, "--trace");
      if (k == 0 && cmd.config.progress) {
        progress = std::make_unique<ProgressLine>(cmd.config.max_iterations);
        observers.push_back(progress.get());
      }
    } catch (...) {
      setup = classify(std::current_exception());
    }
  }
  if (mpi) {
    try {
      setup.code = agree_on_setup(comm, setup);
    } catch (const std::exception& e) {
      abort_job(1, "rank " + std::to_string(k) + ": error: " + e.what());
    }
  } else if (setup.code != 0) {
    std::cerr << "tptt: " << setup.what << std::endl;
  }
  if (setup.code != 0) return finish(setup.code);

  const TrainCommand& cmd = *parsed;
  const TrainConfig& cfg = cmd.config;
  if (k == 0) {
    std::cerr << "tptt train: " << config_json.str() << "\n";
    if (mpi) std::cerr << "tptt train: run " << run_json.str() << "\n";
    if (cmd.resume_from) {
      std::cerr << "tptt train: resuming '" << cmd.run.resume << "' after iteration " << start.iteration << "\n";
      if (!cmd.resume_note.empty()) std::cerr << "tptt train: note: " << cmd.resume_note << "\n";
      for (const std::string& change : cmd.changed_on_resume)
        std::cerr << "tptt train: warning: resumed with a changed option, " << change
                  << "; the run will differ from an uninterrupted one\n";
    }
  }

  try {
    if (!cmd.run.trace.empty()) start_trace(k);
    // --micro-batches auto: chosen now; checkpoints then store the M chosen, so a resumed run
    // continues with it.
    if (const Learner::AutomaticChoice choice = learner->choose_automatic_options(); choice.micro_batches > 0) {
      parsed->run.dist.micro_batches = choice.micro_batches;
      parsed->run.dist.auto_micro_batches = false;
      if (k == 0) std::cerr << "tptt train: " + choice.report + "\n" << std::flush;
    }
    install_stop_handlers();
    CheckpointWriter checkpoints(cmd, *learner, comm, cmd.resume_from ? start.iteration : -1);
    ProtocolHooks hooks;
    hooks.after_iteration = [&](const ProtocolProgress& p) { return checkpoints.after_iteration(p); };
    hooks.checkpoint_due = [&](long iteration) { return checkpoints.due(iteration); };
    if (cmd.run.diagnostics && (k == 0 || cmd.run.log_all_ranks))  // every rank holds the whole θ: no messages
      hooks.diagnostics = [&](long iteration) { return learner->diagnostics(iteration); };
    const RunSummary summary = run_protocol(*learner, observers, start, hooks);
    if (!diverged(summary.reason)) {
      if (checkpoints.last_written() != summary.progress.iteration) checkpoints.write(summary.progress);
    }
    if (k == 0) report_stop(cmd, summary, checkpoints.last_written());
    const VecF& theta = learner->flat_params();
    std::uint64_t hash = 0;
    bool identical = true;
    if (cmd.run.param_hash) {
      hash = param_hash(theta);
      std::fprintf(stderr, "tptt: rank %d: param_hash %s\n", k, hash_hex(hash).c_str());
      std::fflush(stderr);
      identical = replicas_identical(comm, hash);
    }
    if (params_out.is_open()) write_params_npy(params_out, theta);
    if (!cmd.run.trace.empty()) write_trace(cmd.run.trace, comm);
    if (k == 0) {
      JsonObject out;
      out.add("algorithm", to_string(cfg.algorithm)).add("task", to_string(cfg.task)).add("length", cfg.length);
      out.add("seed", cfg.seed).add("ranks", K).add("mode", cmd.run.dist.mode_name());
      out.add("schedule", schedule_label(cfg));
      if (mpi && !mpi->simulated_platform().empty()) out.add("simulated", mpi->simulated_platform());
      if (cmd.run.param_hash) out.add("param_hash", hash_hex(hash)).add("replicas_identical", identical);
      out.add_raw("result", summary.to_json().str());
      std::cout << out.str() << std::endl;
    }
  } catch (...) {
    const Failure failure = classify(std::current_exception());
    // Other ranks may be waiting for this one: end them all.
    if (K > 1) abort_job(failure.code, failure_message(comm, failure));
    std::cerr << "tptt: " << failure.what << std::endl;
    return finish(failure.code);
  }
  return finish(0);
}

}  // namespace tptt
