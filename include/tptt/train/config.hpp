#pragma once
// Everything a training run is configured by. Filled by app/options (command line and INI
// files); validate() rejects out-of-range and contradictory values with UsageError.
#include <cstdint>
#include <string>

#include "tptt/algo/algorithm.hpp"
#include "tptt/core/activation.hpp"
#include "tptt/data/tasks.hpp"
#include "tptt/model/init.hpp"
#include "tptt/optim/optimizer.hpp"

namespace tptt {

enum class Schedule { Alternate, Random, Concurrent };
Schedule parse_schedule(const std::string& name);
std::string to_string(Schedule s);

// When an iteration runs both phases on one minibatch: Reference applies the G update first
// and computes the targets with the updated V_hh, c_h (the authors' code); Overlap computes
// the targets with the feedback weights from before this iteration's G update, so that the
// target chain can run beside the G phase.
enum class PhaseOrder { Reference, Overlap };
PhaseOrder parse_phase_order(const std::string& name);  // throws UsageError
std::string to_string(PhaseOrder o);

// Which sequences a check validates on: Fresh draws a new set at every check, a function of
// (seed, check iteration) (the paper's protocol); Fixed uses one set for the whole run.
enum class ValidationMode { Fresh, Fixed };
ValidationMode parse_validation_mode(const std::string& name);  // throws UsageError
std::string to_string(ValidationMode m);

struct TrainConfig {
  // Task and data
  TaskKind task = TaskKind::Temporal;
  int length = 60;     // requested sequence length L
  int min_length = 0;  // with max_length: L drawn per batch from [min, max]; 0 = fixed length
  int max_length = 0;
  int batch = 20;  // B
  std::uint64_t seed = 1;
  std::string data_dir;  // task mnist: directory of the four IDX files

  // Model
  int hidden = 100;  // H
  Activation activation = Activation::Tanh;
  InitScheme init = InitScheme::Orthogonal;
  double init_std = 0.1;  // Gaussian initialisation

  // Algorithm and optimiser
  Algorithm algorithm = Algorithm::Tptt;
  OptimizerKind optimizer = OptimizerKind::Nesterov;
  double momentum = 0.9;
  double lr = 1e-3;        // α of BPTT and of the LSTM
  double clip_norm = 0;    // gradient-norm clipping threshold of each phase's update; 0 = off
  double alpha_i = 0.1;    // first-target step (eq. 3)
  double alpha_f = 0.01;   // forward set
  double alpha_g = 0.001;  // feedback set
  double noise = 0;        // σ of the G-phase noise
  Schedule schedule = Schedule::Alternate;
  PhaseOrder phase_order = PhaseOrder::Overlap;  // measured: docs/results.md, phase order
  double p_g = 1.0;  // random: probability of a G update; concurrent: G share p_G/(1−p_G) per F update

  // Threads of this rank (oneTBB arena): the independent parts of an iteration and the
  // validation batches run in parallel; alternate and random schedules give bit-identical
  // results for any thread count.
  int threads = 1;

  // Protocol (docs/method.md §6)
  long max_iterations = 100000;
  int check_every = 100;
  ValidationMode validation = ValidationMode::Fresh;
  int validation_samples = 10000;
  int validation_batch = 1000;
  double solved_error = 1e-4;
  int patience = 300;  // consecutive checks without a new best error
  double max_spectral_radius = 20;
  // A check validates a snapshot of the parameters while training goes on; its outcome (the
  // record, solved, patience, aborts) is decided when the result arrives (train/protocol.hpp).
  bool async_validation = false;

  // Output
  std::string log_path;  // JSON-lines metrics; empty = none
  bool progress = true;  // progress line on stderr

  bool varying_length() const { return max_length > 0; }
  int longest_length() const { return varying_length() ? max_length : length; }

  void validate() const;  // throws UsageError naming the option
};

}  // namespace tptt
