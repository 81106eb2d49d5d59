#pragma once
// --micro-batches auto: the number of micro-batches M of the pipelined mode, chosen from costs
// measured on this machine before the first iteration.
//
// Model of one iteration on K ranks with one thread each (the schedule of
// train/distributed_modes.hpp, waits filled with work that needs no message):
//   t(M) = M · (c + w) + (K − 1) · c
// where c is the time of one micro-batch's chains on one segment (the forward chain, the target
// chain and, for tptt and bptt, the ∂E/∂h chain: what a neighbour waits for) and w the rest of its
// work (G(x_t, h_t), the G- and F-phase gradients), both measured at the micro-batch's columns
// ⌈B/M⌉. The first term grows with M because narrower products run slower; the second, the time a
// micro-batch takes to cross the other K − 1 segments at the start and end of the pipeline, falls.
#include <string>
#include <vector>

#include "tptt/algo/kernels.hpp"
#include "tptt/core/parallel.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

struct MicroBatchCosts {
  double chain_seconds = 0;  // c: forward, target and ∂E/∂h chains of one micro-batch on one segment
  double other_seconds = 0;  // w: the rest of that micro-batch's work
};

// The candidates for a minibatch of B columns: 2 … B (pipelining needs two micro-batches), one per
// distinct column count ⌈B/M⌉ (the smallest M of each).
std::vector<int> micro_batch_candidates(int batch);

// t(M) above, in seconds.
double predicted_iteration_seconds(const MicroBatchCosts& costs, int micro_batches, int ranks);

// The candidate with the smallest predicted time (the smaller M on a tie). costs[i] belongs to
// candidates[i]; both non-empty and of one size.
int best_micro_batches(const std::vector<int>& candidates, const std::vector<MicroBatchCosts>& costs, int ranks);

// Times one micro-batch of `cols` sequences over `steps` time steps with parameters `theta` (the
// best of `repeats` runs, on the calling thread; random inputs, nothing is sent or updated).
MicroBatchCosts measure_micro_batch(const Params<Scalar>& theta, const TrainConfig& config, int steps, int cols,
                                    const ThreadArena& arena, int repeats = 3);

// One line for the run's output: "--micro-batches auto: M = 4 (predicted ms per iteration: M=2 …)".
std::string describe_micro_batch_choice(int chosen, const std::vector<int>& candidates,
                                        const std::vector<MicroBatchCosts>& costs, int ranks);

}  // namespace tptt
