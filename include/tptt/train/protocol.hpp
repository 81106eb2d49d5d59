#pragma once
// The training protocol of docs/method.md §6 around a Learner: iterations, a validation check every
// N iterations, the solved criterion and the three abort rules. Observers receive each
// check and the summary (metrics log, progress line); hooks let the caller write checkpoints,
// stop on a signal and add diagnostics. The protocol itself does no I/O.
//
// With config.async_validation a check snapshots the parameters and validates the snapshot
// while training goes on (train/async_validation.hpp). The protocol polls it after every
// iteration; its record, the best error, patience, solved and the aborts are decided when the
// result arrives, on the snapshot's result, so every record equals the synchronous run's. A
// check waits for the one before it, a checkpoint (ProtocolHooks::checkpoint_due) and the end
// of the run wait for a pending check. A solving check ends the run with the learner set back
// to the snapshot (parameters and optimiser state): that is the model kept, saved and
// checkpointed, and solved_at is its iteration; `iterations` counts every iteration trained.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tptt/io/json.hpp"
#include "tptt/train/learner.hpp"

namespace tptt {

// Interrupted: a stop was requested (SIGINT/SIGTERM) after an iteration.
enum class StopReason { Solved, MaxIterations, NonFiniteCost, SpectralRadius, NoImprovement, Interrupted };
// Non-finite cost or exploding spectral radius: the parameters are not worth keeping.
inline bool diverged(StopReason r) { return r == StopReason::NonFiniteCost || r == StopReason::SpectralRadius; }
std::string to_string(StopReason r);

struct CheckRecord {
  long iteration = 0;             // iterations completed
  double train_cost = 0;          // mean minibatch cost since the previous check
  double loss_g = 0, loss_f = 0;  // mean local losses since the previous check (per G / F update)
  ValidationResult validation;
  double best_error = 1;
  double rho_whh = 0, rho_vhh = 0;                          // spectral radii
  std::vector<std::pair<std::string, double>> update_norm;  // ‖Δθ‖ of each tensor in the last iteration
  long g_updates = 0, f_updates = 0;
  // Concurrent schedule: mean staleness (updates of the other phase published meanwhile) of the
  // snapshots the G and F updates of this interval used; 0 otherwise.
  double g_staleness = 0, f_staleness = 0;
  double elapsed_s = 0;
  double iterations_per_s = 0;
  std::optional<JsonObject> diagnostics;  // ProtocolHooks::diagnostics, when given
  // Which quantities exist: without a feedback set (bptt, lstm) loss_g, loss_f, rho_vhh, g_updates
  // and the V_hh, c_h update norms are null in to_json(); g/f_staleness outside the concurrent
  // schedule too.
  bool has_feedback = true;
  bool concurrent = false;
  JsonObject to_json() const;
};

// Where the protocol stands after `iteration` iterations: enough to continue its loop with
// the same checks, sums and abort counters as an uninterrupted run (app/checkpointing.hpp).
struct ProtocolProgress {
  long iteration = 0;  // iterations completed
  double best_error = 1;
  double final_error = 1;
  long checks_without_improvement = 0;
  double cost_sum = 0, loss_g_sum = 0, loss_f_sum = 0;  // since the last check
  long cost_count = 0, g_count = 0, f_count = 0;
  double elapsed_s = 0;  // training time so far, earlier processes included
  // A check's validation is still running (async validation): this progress lacks its outcome,
  // so it must not be checkpointed. Not stored.
  bool check_pending = false;
};

struct RunSummary {
  bool solved = false;
  long solved_at = -1;  // iterations completed when the solving check ran (its snapshot's)
  double best_error = 1;
  double final_error = 1;
  long iterations = 0;  // iterations trained (async validation: may run past solved_at)
  double seconds = 0;
  StopReason reason = StopReason::MaxIterations;
  double peak_rss_mib = 0;    // peak resident memory of the process at the end (core/memory.hpp)
  ProtocolProgress progress;  // at the end: what a final checkpoint stores (solved: at solved_at)
  // Keys solved, solved_at, best_error, final_error, iterations, iterations_after_solved
  // (iterations − solved_at; null when not solved), seconds, stop_reason.
  JsonObject to_json() const;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_check(const CheckRecord&) {}
  virtual void on_finish(const RunSummary&) {}
};

struct ProtocolHooks {
  // After every iteration that did not end the run (no divergence, not solved): the progress
  // so far, checks included. Returns true to stop the run here (reason Interrupted).
  std::function<bool(const ProtocolProgress&)> after_iteration;
  // At each check, after the iteration's update: extra fields for the check record.
  std::function<JsonObject(long iteration)> diagnostics;
  // Whether after_iteration will write a checkpoint after this many iterations: a pending
  // asynchronous check is completed first, so that the checkpoint holds its outcome.
  std::function<bool(long iteration)> checkpoint_due;
};

// Runs iterations start.iteration … max_iterations − 1 (a resumed run passes the progress
// of its checkpoint; a fresh one the default).
RunSummary run_protocol(Learner& learner, const std::vector<RunObserver*>& observers = {},
                        const ProtocolProgress& start = {}, const ProtocolHooks& hooks = {});

}  // namespace tptt
