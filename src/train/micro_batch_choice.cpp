#include "tptt/train/micro_batch_choice.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "tptt/core/clock.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/train/segment_pass.hpp"

namespace tptt {

std::vector<int> micro_batch_candidates(int batch) {
  std::vector<int> out;
  int last_cols = 0;
  for (int m = 2; m <= batch; ++m) {
    const int cols = (batch + m - 1) / m;
    if (cols != last_cols) out.push_back(m);
    last_cols = cols;
  }
  return out;
}

double predicted_iteration_seconds(const MicroBatchCosts& costs, int micro_batches, int ranks) {
  return micro_batches * (costs.chain_seconds + costs.other_seconds) + (ranks - 1) * costs.chain_seconds;
}

int best_micro_batches(const std::vector<int>& candidates, const std::vector<MicroBatchCosts>& costs, int ranks) {
  if (candidates.empty() || candidates.size() != costs.size())
    throw std::logic_error("best_micro_batches: candidates and costs differ in size or are empty");
  std::size_t best = 0;
  double best_seconds = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const double t = predicted_iteration_seconds(costs[i], candidates[i], ranks);
    if (t < best_seconds) {
      best_seconds = t;
      best = i;
    }
  }
  return candidates[best];
}

MicroBatchCosts measure_micro_batch(const Params<Scalar>& theta, const TrainConfig& config, int steps, int cols,
                                    const ThreadArena& arena, int repeats) {
  using Clock = RunClock;
  const int H = config.hidden, I = static_cast<int>(theta.Wxh().cols());
  CounterRng rng(config.seed, RngPurpose::Schedule, 0x6d6963726fULL);  // inputs only: any values do
  MatF X(I, static_cast<Eigen::Index>(steps) * cols);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = static_cast<Scalar>(rng.uniform());
  SegmentBuffers<Scalar> seg;
  seg.resize(H, steps, cols);
  MatF dh = MatF::Constant(H, cols, Scalar(1e-3));  // (H × cols) ∂E/∂h_b stand-in
  Params<Scalar> grad(theta.shape());
  PassBoundaries<Scalar> io;  // no neighbours: h_0 = 0, Δ_b from dh
  io.target_in = [&](MatRef<Scalar> delta) { delta = -static_cast<Scalar>(config.alpha_i) * dh; };
  const PassParts all = pass_parts(config.algorithm, {true, true});
  PassParts targets, chain, rest;
  targets.targets = all.targets;
  chain.chain = all.chain;
  chain.bptt = all.bptt;
  rest.f_gradient = all.f_gradient;
  rest.g_phase = all.g_phase;
  rest.hx = targets.hx = all.hx;

  MicroBatchCosts best{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const auto t0 = Clock::now();
    segment_forward<Scalar>(theta, config.activation, X, /*with_feedback=*/false, io, seg, arena);
    const auto t1 = Clock::now();
    if (all.targets || all.g_phase) feedback_of_states<Scalar>(theta, config.activation, seg);
    const auto t2 = Clock::now();
    segment_backward<Scalar>(theta, config.activation, X, nullptr, targets, io, seg, dh, grad, arena);
    segment_backward<Scalar>(theta, config.activation, X, nullptr, chain, io, seg, dh, grad, arena);
    const auto t4 = Clock::now();
    segment_backward<Scalar>(theta, config.activation, X, nullptr, rest, io, seg, dh, grad, arena);
    const auto t5 = Clock::now();
    const auto seconds = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    const MicroBatchCosts c{seconds(t0, t1) + seconds(t2, t4), seconds(t1, t2) + seconds(t4, t5)};
    if (c.chain_seconds + c.other_seconds < best.chain_seconds + best.other_seconds) best = c;
    dh.setConstant(Scalar(1e-3));  // the ∂E/∂h chain overwrote it
  }
  return best;
}

std::string describe_micro_batch_choice(int chosen, const std::vector<int>& candidates,
                                        const std::vector<MicroBatchCosts>& costs, int ranks) {
  std::string line = "--micro-batches auto: M = " + std::to_string(chosen) + " (predicted ms per iteration:";
  for (std::size_t i = 0; i < candidates.size() && i < costs.size(); ++i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " M=%d %.3g", candidates[i],
                  1e3 * predicted_iteration_seconds(costs[i], candidates[i], ranks));
    line += buf;
  }
  return line + ")";
}

}  // namespace tptt
