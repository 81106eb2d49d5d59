#pragma once
// What the training protocol (train/protocol.hpp) drives: one learner of a run, which steps
// through iterations, validates, and exposes its parameters and state for the log and for
// checkpoints. The SRN Trainer (bptt, tptt, tptt_hx; any number of ranks) and the LSTM
// baseline (train/lstm_trainer.hpp) implement it.
#include <memory>
#include <string>
#include <vector>

#include "tptt/core/types.hpp"
#include "tptt/train/config.hpp"
#include "tptt/train/data_source.hpp"
#include "tptt/train/distributed_config.hpp"

namespace tptt {

class Checkpoint;      // io/checkpoint.hpp
class Communicator;    // comm/communicator.hpp
class ThreadArena;     // core/parallel.hpp
class ValidationPass;  // train/validation.hpp

struct IterationResult {
  double cost = 0;       // E of the minibatch
  bool did_g = false;    // a G (feedback) update was applied
  bool did_f = false;    // an F (forward) update was applied
  double loss_g = 0;     // L_G summed over all steps (0 if no G phase)
  double loss_f = 0;     // L_F summed over all steps (0 if no F phase)
  bool has_cost = true;  // false: no minibatch finished this iteration (the first S of --sync stale)
};

struct ValidationResult {
  double error = 0;  // fraction of misclassified (or out-of-tolerance) samples
  double cost = 0;   // mean loss per sample
};

// Which update phases an iteration performs.
struct Phases {
  bool g = false;
  bool f = false;
};

// Cumulative counts of the phases, and in concurrent mode the staleness of the snapshot each
// phase used: the number of updates the other phase published while this one was computing.
struct PhaseStats {
  long g_updates = 0, f_updates = 0;
  double g_staleness_sum = 0, f_staleness_sum = 0;
  long g_staleness_max = 0, f_staleness_max = 0;
  double g_loss_sum = 0;  // concurrent: L_G summed over the G loop's updates
};

// A named block of the flat parameter vector (for the per-tensor update norms of the log).
struct TensorSlice {
  std::string name;  // "W_hh", ...
  Eigen::Index offset = 0;
  Eigen::Index count = 0;
};

// Spectral radii the protocol logs and checks against --max-spectral-radius.
struct SpectralRadii {
  double recurrent = 0;  // ρ(W_hh) (LSTM: of the candidate block W_hg)
  double feedback = 0;   // ρ(V_hh); 0 where there is no feedback function
};

class Learner {
 public:
  virtual ~Learner() = default;

  // Iteration n (0-based): the minibatch is a function of (seed, n) alone.
  virtual IterationResult step(long iteration) = 0;
  // Error and cost on a validation set (train/data_source.hpp), evaluated now on the rank's
  // threads: by default the run's set of the check at iteration 0 (the fixed set with
  // --validation fixed). On K ranks a collective.
  ValidationResult validate(const ValidationSet& set = {});
  // The same in two halves (train/validation.hpp), so that the evaluation can run while
  // training goes on: a pass over a copy of the current parameters, as work items (on K ranks,
  // this rank's share of the set); and the error and cost of the finished pass (on K ranks a
  // collective: every rank calls it for the same set at the same point).
  virtual std::shared_ptr<ValidationPass> validation_pass(const ValidationSet& set) const = 0;
  virtual ValidationResult validation_result(const ValidationPass& pass);
  virtual ThreadArena& arena() = 0;  // the rank's threads
  virtual const TrainConfig& config() const = 0;

  // Every learned parameter in one flat vector (same on every rank).
  virtual VecF& flat_params() = 0;
  virtual const VecF& flat_params() const = 0;
  virtual std::vector<TensorSlice> tensor_slices() const = 0;
  virtual SpectralRadii spectral_radii() const = 0;

  virtual PhaseStats phase_stats() const { return {}; }
  // The options that a run chooses from measurements on this machine (--micro-batches auto), and
  // a line that says what was chosen and why; {0, ""} when there is nothing to choose. On K ranks
  // a collective: every rank calls it once, before the first iteration (else the first
  // iteration does it).
  struct AutomaticChoice {
    int micro_batches = 0;
    std::string report;
  };
  virtual AutomaticChoice choose_automatic_options() { return {}; }
  // Ends the work in flight and in the background (a distributed mode's messages and
  // all-reduces, the concurrent G loop), so that the parameters are final. On K ranks a
  // collective: every rank calls it after the same last iteration (run_protocol does).
  virtual void finish() {}
  // Completes the work in flight that a checkpoint must hold (a distributed mode's backward
  // passes, all-reduces and boundary targets) without changing the run, so that rank 0's
  // save_state holds all of it. On K ranks a collective: every rank calls it before a
  // checkpoint is written.
  virtual void settle() {}
  // The diagnostics of the paper's Fig. 5 and 6 on the minibatch of `iteration`
  // (train/diagnostics.hpp), computed from this rank's replica; UsageError where the learner
  // has none.
  virtual JsonObject diagnostics(long iteration) const;

  // Optimiser state and update counters, into / from a checkpoint's sections (the protocol
  // stores the parameters and its own progress). load_state throws FileError naming the
  // checkpoint when a section is missing or has the wrong size.
  virtual void save_state(Checkpoint& checkpoint) const = 0;
  virtual void load_state(const Checkpoint& checkpoint) = 0;
};

// The learner for a configuration: the SRN Trainer (bptt, tptt, tptt_hx) or the LSTM. Validates
// the configuration and refuses (UsageError) one whose estimated memory, with the minibatches
// that `dist` keeps in flight (--sync stale: S + 1), exceeds what is available
// (train/memory_estimate.hpp), before allocating anything.
// With a distributed mode other than plain exact (`dist`, train/distributed_modes.hpp), the
// Trainer runs it; the LSTM and the concurrent schedule refuse one (UsageError).
std::unique_ptr<Learner> make_learner(const TrainConfig& config, Communicator& comm,
                                      const DistributedConfig& dist = {});

}  // namespace tptt
