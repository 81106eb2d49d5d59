#pragma once
// The training protocol of SPEC §6 around a Trainer: iterations, a validation check every
// N iterations, the solved criterion and the three abort rules. Observers receive each
// check and the summary (metrics log, progress line); the protocol itself does no I/O.
#include <array>
#include <string>
#include <vector>

#include "tptt/io/json.hpp"
#include "tptt/train/trainer.hpp"

namespace tptt {

enum class StopReason { Solved, MaxIterations, NonFiniteCost, SpectralRadius, NoImprovement };
std::string to_string(StopReason r);

struct CheckRecord {
  long iteration = 0;           // iterations completed
  double train_cost = 0;        // mean minibatch cost since the previous check
  double loss_g = 0, loss_f = 0;  // mean local losses since the previous check (per G / F update)
  ValidationResult validation;
  double best_error = 1;
  double rho_whh = 0, rho_vhh = 0;            // spectral radii
  std::array<double, kTensorCount> update_norm{};  // ‖Δθ‖ of each tensor in the last iteration
  long g_updates = 0, f_updates = 0;
  // Concurrent schedule: mean staleness (updates of the other phase published meanwhile) of the
  // snapshots the G and F updates of this interval used; 0 otherwise.
  double g_staleness = 0, f_staleness = 0;
  double elapsed_s = 0;
  double iterations_per_s = 0;
  JsonObject to_json() const;
};

struct RunSummary {
  bool solved = false;
  long solved_at = -1;  // iterations completed when the solving check ran
  double best_error = 1;
  double final_error = 1;
  long iterations = 0;
  double seconds = 0;
  StopReason reason = StopReason::MaxIterations;
  JsonObject to_json() const;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_check(const CheckRecord&) {}
  virtual void on_finish(const RunSummary&) {}
};

RunSummary run_protocol(Trainer& trainer, const std::vector<RunObserver*>& observers = {});

}  // namespace tptt
