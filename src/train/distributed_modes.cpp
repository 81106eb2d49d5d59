#include "tptt/train/distributed_modes.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "pipeline_in_flight.hpp"
#include "tptt/algo/kernels.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/core/trace.hpp"
#include "tptt/train/boundary_predictor.hpp"
#include "tptt/train/micro_batch_choice.hpp"
#include "tptt/train/segment_pass.hpp"
#include "tptt/train/staleness_compensation.hpp"

namespace tptt {

namespace {

// Columns [first, first + cols) of every (rows × B) step block of a (rows × n·B) matrix,
// as a (rows × n·cols) matrix: one micro-batch of a segment's steps.
MatF micro_columns(const Eigen::Ref<const MatF>& m, int B, int n, int first, int cols) {
  MatF out(m.rows(), static_cast<Eigen::Index>(n) * cols);
  for (int j = 0; j < n; ++j)
    out.middleCols(static_cast<Eigen::Index>(j) * cols, cols) = m.middleCols(static_cast<Eigen::Index>(j) * B + first,
                                                                             cols);
  return out;
}

// The optimisers' momentum: μ, or μ lowered for the delay (--staleness-compensation momentum).
Scalar optimizer_momentum(const TrainConfig& config, const DistributedConfig& dist) {
  const bool adjust = dist.compensation == StalenessCompensation::Momentum;
  return static_cast<Scalar>(adjust ? delay_adjusted_momentum(config.momentum, dist.delay()) : config.momentum);
}

}  // namespace

SyncMode parse_sync_mode(const std::string& name) {
  if (name == "exact") return SyncMode::Exact;
  if (name == "pipelined") return SyncMode::Pipelined;
  if (name == "stale") return SyncMode::Stale;
  throw UsageError("--sync: expected exact, pipelined or stale, got '" + name + "'");
}

std::string to_string(SyncMode mode) {
  switch (mode) {
    case SyncMode::Exact: return "exact";
    case SyncMode::Pipelined: return "pipelined";
    case SyncMode::Stale: return "stale";
  }
  return "?";
}

void DistributedConfig::validate(const TrainConfig& c) const {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  require(staleness >= 0, "--staleness: must be at least 0, got " + std::to_string(staleness));
  require(sync == SyncMode::Stale || staleness == 0, "--staleness applies to --sync stale only");
  require(micro_batches >= 1, "--micro-batches: must be at least 1, got " + std::to_string(micro_batches));
  require(micro_batches <= c.batch, "--micro-batches: at most the minibatch size (--batch " + std::to_string(c.batch) +
                                        "), got " + std::to_string(micro_batches));
  require(sync != SyncMode::Exact || micro_batches == 1,
          "--micro-batches needs --sync pipelined or stale (exact runs whole minibatches)");
  require(sync != SyncMode::Pipelined || micro_batches >= 2, "--sync pipelined needs --micro-batches M >= 2");
  require(!auto_micro_batches || sync == SyncMode::Pipelined, "--micro-batches auto needs --sync pipelined");
  require(!decoupled || c.algorithm != Algorithm::Bptt,
          "--decoupled needs --algorithm tptt or tptt_hx: bptt has no targets (an upstream segment would learn "
          "from a predicted dE/dh alone: synthetic gradients, not supported)");
  require(!decoupled || sync != SyncMode::Pipelined,
          "--decoupled works with --sync exact or stale; to send its forward states in micro-batches use "
          "--sync stale --staleness 0 --micro-batches M");
  require(std::isfinite(decoupled_rate) && decoupled_rate > 0 && decoupled_rate < 2,
          "--decoupled-rate: must be in (0, 2)");
  require(compensation == StalenessCompensation::None || sync == SyncMode::Stale,
          "--staleness-compensation applies to --sync stale only");
  require(compensation == StalenessCompensation::None || compensation == StalenessCompensation::DelayCompensated ||
              c.optimizer == OptimizerKind::Nesterov,
          "--staleness-compensation " + to_string(compensation) +
              ": works on the Nesterov momentum (--optimizer nesterov), --optimizer sgd has none");
  require(std::isfinite(dc_lambda) && dc_lambda >= 0, "--dc-lambda: must be a finite number >= 0");
  require(c.schedule != Schedule::Concurrent || is_plain_exact(),
          "--schedule concurrent runs with --sync exact only (one rank)");
}

std::string DistributedConfig::mode_name() const {
  std::string m;
  if (sync == SyncMode::Pipelined) {
    m = "pipelined(" + (auto_micro_batches ? std::string("auto") : std::to_string(micro_batches)) + ")";
  } else if (sync == SyncMode::Stale) {
    m = "stale(" + std::to_string(staleness);
    if (micro_batches > 1) m += ",M=" + std::to_string(micro_batches);
    if (compensation != StalenessCompensation::None) m += "," + to_string(compensation);
    m += ")";
  } else {
    m = "exact";
  }
  if (!decoupled) return m;
  return sync == SyncMode::Exact ? "decoupled" : "decoupled+" + m;
}

JsonObject DistributedConfig::to_json() const {
  JsonObject j;
  j.add("mode", mode_name())
      .add("staleness", staleness)
      .add("micro_batches", micro_batches)
      .add("decoupled", decoupled);
  if (auto_micro_batches) j.add("micro_batches_auto", true);
  if (decoupled) j.add("decoupled_rate", decoupled_rate);
  j.add("staleness_compensation", to_string(compensation));
  if (uses_dc_lambda()) j.add("dc_lambda", dc_lambda);
  return j;
}

SegmentPipeline::SegmentPipeline(Trainer& trainer, const DistributedConfig& dist, Communicator& comm)
    : trainer_(trainer),
      config_(trainer.config()),
      dist_(dist),
      comm_(comm),
      params_(trainer.params()),
      forward_opt_(config_.optimizer, params_.layout().forward_size(), optimizer_momentum(config_, dist)),
      feedback_opt_(config_.optimizer, params_.layout().feedback_size(), optimizer_momentum(config_, dist)) {
  dist_.validate(config_);
  const int K = comm_.size(), k = comm_.rank();
  lag_ = dist_.decoupled ? 0 : std::min(dist_.delay(), K - 1 - k);
  const StalenessCompensation method = dist_.compensation;
  predicts_ = dist_.delay() > 0 &&
              (method == StalenessCompensation::Predict || method == StalenessCompensation::PredictDc);
  compensates_ = dist_.delay() > 0 &&
                 (method == StalenessCompensation::DelayCompensated || method == StalenessCompensation::PredictDc);
  if (compensates_) dc_mean_square_ = VecF::Zero(params_.flat().size());
  if (dist_.decoupled && k + 1 < K) {
    target_predictor_ = MatF::Zero(config_.hidden, config_.hidden + 1);
    if (config_.algorithm == Algorithm::Tptt) gradient_predictor_ = MatF::Zero(config_.hidden, config_.hidden + 1);
  }
}

SegmentPipeline::~SegmentPipeline() = default;

SegmentPipeline::InFlight* SegmentPipeline::find(long iteration) {
  for (auto& f : in_flight_)
    if (f->iteration == iteration) return f.get();
  return nullptr;
}

Learner::AutomaticChoice SegmentPipeline::choose_micro_batches() {
  if (!dist_.auto_micro_batches) return {};
  const int K = comm_.size(), B = config_.batch;
  const int steps = segment_of(config_.length, K, comm_.rank()).steps();
  const std::vector<int> candidates = micro_batch_candidates(B);
  std::vector<float> seconds(2 * candidates.size());  // (candidates × 2) chain, other; summed over ranks
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const int cols = (B + candidates[i] - 1) / candidates[i];
    const MicroBatchCosts c = measure_micro_batch(params_, config_, steps, cols, trainer_.arena());
    seconds[2 * i] = static_cast<float>(c.chain_seconds);
    seconds[2 * i + 1] = static_cast<float>(c.other_seconds);
  }
  comm_.allreduce_sum(std::span<float>(seconds));  // the same bits on every rank: the same choice
  std::vector<MicroBatchCosts> costs(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i)
    costs[i] = {seconds[2 * i] / static_cast<double>(K), seconds[2 * i + 1] / static_cast<double>(K)};
  dist_.micro_batches = best_micro_batches(candidates, costs, K);
  dist_.auto_micro_batches = false;
  return {dist_.micro_batches, describe_micro_batch_choice(dist_.micro_batches, candidates, costs, K)};
}

std::optional<IterationResult> SegmentPipeline::step(long iteration) {
  if (drained_) throw std::logic_error("SegmentPipeline::step after drain()");
  choose_micro_batches();  // once, if the run did not before its first iteration
  // A run resumed from a checkpoint with nothing in flight (exact, pipelined) starts where the
  // protocol does; one with work in flight continues at the checkpoint's position.
  if (!position_known_) next_iteration_ = iteration;
  position_known_ = true;
  if (iteration != next_iteration_)
    throw std::logic_error("SegmentPipeline::step: expected iteration " + std::to_string(next_iteration_) + ", got " +
                           std::to_string(iteration));
  ++next_iteration_;
  const int K = comm_.size(), k = comm_.rank();

  std::unique_ptr<InFlight> slot;
  if (spare_.empty()) {
    slot = std::make_unique<InFlight>(params_.shape());
  } else {
    slot = std::move(spare_.back());
    spare_.pop_back();
    slot->recycle();
  }
  slot->iteration = iteration;
  // θ_n for a late backward pass and for the delay compensation; θ̂_n when predicting.
  if (lag_ > 0 || predicts_ || compensates_) {
    if (!slot->stash) slot->stash = std::make_unique<Params<Scalar>>(params_.shape());
    if (predicts_) {
      predict_optimizer_range(forward_opt_, 0, *slot->stash);
      predict_optimizer_range(feedback_opt_, params_.layout().forward_size(), *slot->stash);
    } else {
      slot->stash->flat() = params_.flat();
    }
  }
  in_flight_.push_back(std::move(slot));
  InFlight& fresh = *in_flight_.back();
  prepare(fresh);

  InFlight* b = find(iteration - lag_);
  if (b && b->backward_done) b = nullptr;  // done already when a checkpoint settled it
  run_passes(&fresh, b);
  if (b) start_reduce(*b);
  if (dist_.decoupled && k + 1 < K)
    if (InFlight* p = find(iteration - 1)) fold_in_real_boundary(*p);

  std::optional<IterationResult> result;
  if (InFlight* a = find(iteration - dist_.delay())) {
    result = finish_reduce(*a);
    apply(*a);
    a->applied = true;
  }
  // Retire the minibatches that nothing refers to any more.
  const bool folds = dist_.decoupled && k + 1 < K;
  while (!in_flight_.empty() && in_flight_.front()->applied && (!folds || in_flight_.front()->folded)) {
    spare_.push_back(std::move(in_flight_.front()));
    in_flight_.pop_front();
  }
  return result;
}

// θ̂ = θ + S v over the optimiser `opt`'s range of θ, starting at `first`, into `out`.
void SegmentPipeline::predict_optimizer_range(const Optimizer& opt, Eigen::Index first, Params<Scalar>& out) const {
  const Eigen::Index n = first == 0 ? params_.layout().forward_size() : params_.layout().feedback_size();
  predict_weights(params_.flat().segment(first, n), opt.state(), dist_.delay(), out.flat().segment(first, n));
}

void SegmentPipeline::prepare(InFlight& f) {
  const Batch batch = trainer_.training_batch(f.iteration);
  const int K = comm_.size(), k = comm_.rank(), B = batch.batch;
  if (K > batch.steps)
    throw UsageError("more ranks (" + std::to_string(K) + ") than time steps (" + std::to_string(batch.steps) + ")");
  f.range = segment_of(batch.steps, K, k);
  const int n = f.range.steps();
  const bool last = (k == K - 1);

  // Phases of minibatch m: as Trainer (the same coin for the same m on every rank).
  if (config_.algorithm == Algorithm::Bptt) {
    f.did_f = true;
  } else if (config_.schedule == Schedule::Random) {
    CounterRng coin(config_.seed, RngPurpose::Schedule, static_cast<std::uint64_t>(f.iteration));
    f.did_g = coin.uniform() < config_.p_g;
    f.did_f = !f.did_g;
  } else {
    f.did_g = f.did_f = true;
  }

  const auto segX = batch.X.middleCols(static_cast<Eigen::Index>(f.range.first - 1) * B,
                                       static_cast<Eigen::Index>(n) * B);
  MatF noise;  // (H × n·B) ε for h̃_{t−1}
  if (f.did_g && config_.noise > 0) fill_g_noise(config_, f.iteration, f.range, B, noise);

  const int M = std::min(dist_.micro_batches, B);
  f.micro.resize(static_cast<std::size_t>(M));
  int col = 0;
  for (int u = 0; u < M; ++u) {
    MicroBatch& mb = f.micro[static_cast<std::size_t>(u)];
    mb.reset_tasks();
    mb.cols = micro_batch_columns(B, M, u);
    mb.first_col = col;
    col += mb.cols;
    mb.weight = static_cast<double>(mb.cols) / B;
    mb.X = M == 1 ? MatF(segX) : micro_columns(segX, B, n, mb.first_col, mb.cols);
    if (noise.size() > 0) mb.noise = M == 1 ? noise : micro_columns(noise, B, n, mb.first_col, mb.cols);
    if (last) mb.Y = batch.Y.middleCols(mb.first_col, mb.cols);
    if (M > 1 && !mb.grad) mb.grad = std::make_unique<Params<Scalar>>(params_.shape());
    mb.seg.resize(config_.hidden, n, mb.cols);
    mb.dh.resize(config_.hidden, mb.cols);
  }
}

// The forward chain of one micro-batch (and its output at the last rank). G(x_t, h_t) waits for
// the backward pass, which may run with other (stashed) parameters.
void SegmentPipeline::forward_micro(InFlight& f, MicroBatch& mb, const PassBoundaries<Scalar>& io) {
  const Params<Scalar>& theta = f.theta(params_);
  segment_forward<Scalar>(theta, config_.activation, mb.X, /*with_feedback=*/false, io, mb.seg, trainer_.arena());
  if (comm_.rank() == comm_.size() - 1)
    output_pass<Scalar>(theta, trainer_.output_kind(), mb.seg.block(mb.seg.Hs, f.range.steps()), mb.Y, mb.out);
  mb.forward_done = true;
}

// Where micro-batch mb's boundary values come from: the neighbours, except the last segment's
// target (eq. 3 from its ∂E/∂h_T) and a decoupled segment's target and ∂E/∂h_b (predicted now;
// the real values are folded in later).
PassBoundaries<Scalar> SegmentPipeline::boundaries(const MicroBatch& mb, int n) {
  PassBoundaries<Scalar> io = neighbour_boundaries(comm_, MessageTag::State);
  if (comm_.rank() == comm_.size() - 1) {
    // eq. 3 with ∂E/∂h_T of the whole minibatch: the micro-batch's, times cols / B.
    io.target_in = [this, &mb](MatRef<Scalar> delta) {
      delta = -static_cast<Scalar>(config_.alpha_i * mb.weight) * mb.dh;
    };
  } else if (dist_.decoupled) {
    io.target_in = [this, &mb, n](MatRef<Scalar> delta) {
      predict_from_boundary(target_predictor_, mb.seg.block(mb.seg.Hs, n), delta);
    };
    io.target_arrived = nullptr;
    // ∂E/∂h_b of the whole minibatch (normalised by B); the micro-batch's chain runs on ∂E_u/∂h_b,
    // normalised by its columns: the prediction divided by the micro-batch's weight.
    io.gradient_in = [this, &mb, n](MatRef<Scalar> dh) {
      predict_from_boundary(gradient_predictor_, mb.seg.block(mb.seg.Hs, n), dh);
      dh /= static_cast<Scalar>(mb.weight);
    };
    io.gradient_arrived = nullptr;
  }
  return io;
}

// The backward work `todo` of one micro-batch, with what it needs first: ∂E_u/∂h_T at the last
// rank (the targets' eq. 3 and the ∂E/∂h chain start from it) and G(x_t, h_t).
void SegmentPipeline::backward_micro(InFlight& f, MicroBatch& mb, const PassParts& todo) {
  const Params<Scalar>& theta = f.theta(params_);
  Params<Scalar>& g = mb.grad ? *mb.grad : f.grad;
  const int n = f.range.steps();
  const bool noisy_g = f.did_g && config_.noise > 0;
  if ((todo.targets || todo.chain) && !mb.output_done) run_output_backward(f, mb);
  if ((todo.targets || (todo.g_phase && !noisy_g)) && !mb.feedback_done) run_feedback_of_states(f, mb);
  const PassBoundaries<Scalar> io = boundaries(mb, n);
  const PassLosses<Scalar> losses = segment_backward<Scalar>(
      theta, config_.activation, mb.X, noisy_g ? &mb.noise : nullptr, todo, io, mb.seg, mb.dh, g, trainer_.arena());
  if (todo.f_gradient) mb.loss_f = static_cast<double>(losses.loss_f);
  if (todo.g_phase) mb.loss_g = static_cast<double>(losses.loss_g);
  mb.targets_done = mb.targets_done || todo.targets;
  mb.chain_done = mb.chain_done || todo.chain;
  mb.f_done = mb.f_done || todo.f_gradient;
  mb.g_done = mb.g_done || todo.g_phase;
}

void SegmentPipeline::run_feedback_of_states(InFlight& f, MicroBatch& mb) {
  TraceSpan span("G(x,h)");
  feedback_of_states<Scalar>(f.theta(params_), config_.activation, mb.seg);
  mb.feedback_done = true;
}

// Last rank: ∂E_u/∂h_T of the micro-batch (normalised by its columns) and the output layer's
// gradient; the cost of every iteration is reported, whatever its phases.
void SegmentPipeline::run_output_backward(InFlight& f, MicroBatch& mb) {
  if (comm_.rank() != comm_.size() - 1) return;
  Params<Scalar>& g = mb.grad ? *mb.grad : f.grad;
  output_backward<Scalar>(f.theta(params_), mb.seg.block(mb.seg.Hs, f.range.steps()), mb.out, g, mb.dh);
  mb.cost = mb.out.cost;
  mb.output_done = true;
}

// The micro-batches' gradients and losses, weighted by cols / B, into the minibatch's sums, in
// micro-batch order (the same bits whatever order the schedule ran them in), and zeroed.
void SegmentPipeline::accumulate(InFlight& f) {
  for (MicroBatch& mb : f.micro) {
    if (mb.grad) {
      f.grad.flat() += static_cast<Scalar>(mb.weight) * mb.grad->flat();
      mb.grad->set_zero();
    }
    f.cost += mb.weight * mb.cost;
    f.loss_g += mb.weight * mb.loss_g;
    f.loss_f += mb.weight * mb.loss_f;
    mb.cost = mb.loss_g = mb.loss_f = 0;
  }
}

// One rank's work of this step: the forward passes of `fwd`'s micro-batches and the backward
// passes of `bwd`'s (either may be null; the same minibatch when this rank has no lag).
void SegmentPipeline::run_passes(InFlight* fwd, InFlight* bwd) {
  if (bwd) {
    bwd->grad.set_zero();
    bwd->cost = bwd->loss_g = bwd->loss_f = 0;
    for (MicroBatch& mb : bwd->micro)
      if (mb.grad) mb.grad->set_zero();
  }
  if (!bwd) {
    schedule(fwd, nullptr, {}, false);
    return;
  }
  const bool bptt = config_.algorithm == Algorithm::Bptt;
  PassParts parts = pass_parts(config_.algorithm, {bwd->did_g, bwd->did_f});
  // The reference order (exact semantics only: no stash, no delay; stale and decoupled modes
  // compute a minibatch's targets before its G update can apply, the overlap order): every
  // micro-batch's G gradient, its all-reduce and the G update first; then the targets with the
  // updated θ_G, and G(x_t, h_t) again for them.
  const bool g_first = !bptt && bwd->did_g && bwd->did_f && config_.phase_order == PhaseOrder::Reference &&
                       dist_.delay() == 0 && !dist_.decoupled;
  if (g_first) {
    PassParts g_only;
    g_only.g_phase = true;
    schedule(fwd, bwd, g_only, false);
    accumulate(*bwd);
    apply_feedback_update_now(*bwd);
    for (MicroBatch& mb : bwd->micro) mb.feedback_done = false;
    fwd = nullptr;
    parts.g_phase = false;
  }
  schedule(fwd, bwd, parts, true);
  accumulate(*bwd);
  bwd->backward_done = true;  // the stash stays with the slot: dc needs θ_m at the update, and a
                              // reused slot copies into it instead of allocating
}

// The tasks of run_passes. With several threads each pass runs its own strands, micro-batch after
// micro-batch. On one thread, a list schedule over all micro-batches (1F1B-like where messages
// allow): a chain whose message is in runs first, the oldest micro-batch first, since a neighbour
// waits for what it sends (forward chains h_b, target chains Δ_{a−1}, ∂E/∂h chains); while every
// chain waits for a message, work that needs none fills the wait (∂E/∂h_T, G(x_t, h_t), the G and
// F gradients, oldest micro-batch first); with none left, the rank waits for the oldest chain's
// message. Waiting on the oldest cannot deadlock: whichever rank holds the globally oldest pending
// chain has its message, or gets it from a rank that runs nothing older.
void SegmentPipeline::schedule(InFlight* fwd, InFlight* bwd, const PassParts& parts, bool outputs) {
  const PassBoundaries<Scalar> io = neighbour_boundaries(comm_, MessageTag::State);
  const bool last = comm_.rank() == comm_.size() - 1;
  const bool backward_work = bwd && (parts.targets || parts.chain || parts.f_gradient || parts.g_phase || outputs);
  if (trainer_.arena().threads() > 1) {
    if (fwd)
      for (MicroBatch& mb : fwd->micro) forward_micro(*fwd, mb, io);
    if (backward_work)
      for (MicroBatch& mb : bwd->micro) {
        if (outputs && !mb.output_done) run_output_backward(*bwd, mb);
        backward_micro(*bwd, mb, parts);
      }
    return;
  }
  const auto arrived = [](const std::function<bool()>& probe) { return !probe || probe(); };
  const std::size_t fwd_count = fwd ? fwd->micro.size() : 0, bwd_count = backward_work ? bwd->micro.size() : 0;
  std::size_t next_forward = 0, next_targets = 0, next_chain = 0;  // chains run in micro-batch order
  const auto forward_ready = [&](std::size_t u) {
    return fwd != bwd || !bwd || bwd->micro[u].forward_done;  // bwd's own forward passes ran earlier
  };
  // A chain task: micro-batch u of kind (0 forward, 1 targets, 2 ∂E/∂h); ordered by minibatch, then u.
  struct Chain {
    int kind = -1;
    std::size_t u = 0;
    long key_iteration = 0;
  };
  const auto pending_chains = [&](std::vector<Chain>& out) {
    out.clear();
    if (next_forward < fwd_count) out.push_back({0, next_forward, fwd->iteration});
    if (parts.targets && next_targets < bwd_count && forward_ready(next_targets))
      out.push_back({1, next_targets, bwd->iteration});
    if (parts.chain && next_chain < bwd_count && forward_ready(next_chain) &&
        (!parts.targets || bwd->micro[next_chain].targets_done))
      out.push_back({2, next_chain, bwd->iteration});
    std::stable_sort(out.begin(), out.end(), [](const Chain& a, const Chain& b) {
      return a.key_iteration != b.key_iteration ? a.key_iteration < b.key_iteration : a.u < b.u;
    });
  };
  const auto ready = [&](const Chain& c) {
    switch (c.kind) {
      case 0: return arrived(io.state_arrived);
      case 1: return last || arrived(boundaries(bwd->micro[c.u], bwd->range.steps()).target_arrived);
      default: return last || arrived(boundaries(bwd->micro[c.u], bwd->range.steps()).gradient_arrived);
    }
  };
  const auto run_chain = [&](const Chain& c) {
    if (c.kind == 0) {
      forward_micro(*fwd, fwd->micro[next_forward++], io);
      return;
    }
    PassParts todo;
    todo.hx = parts.hx;
    if (c.kind == 1) {
      todo.targets = true;
      ++next_targets;
    } else {
      todo.chain = true;
      todo.bptt = parts.bptt;
      ++next_chain;
    }
    backward_micro(*bwd, bwd->micro[c.u], todo);
  };
  // The oldest micro-batch's work that needs no message; false when there is none.
  const auto fill = [&]() -> bool {
    const bool noisy_g = bwd->did_g && config_.noise > 0;
    for (std::size_t u = 0; u < bwd_count; ++u) {
      MicroBatch& mb = bwd->micro[u];
      if (!forward_ready(u)) return false;
      PassParts todo;
      todo.hx = parts.hx;
      if (outputs && last && !mb.output_done) {
        run_output_backward(*bwd, mb);
        return true;
      }
      if ((parts.targets || (parts.g_phase && !noisy_g)) && !mb.feedback_done) {
        run_feedback_of_states(*bwd, mb);
        return true;
      }
      if (parts.g_phase && !mb.g_done) {
        todo.g_phase = true;
        backward_micro(*bwd, mb, todo);
        return true;
      }
      if (parts.f_gradient && mb.targets_done && !mb.f_done) {
        todo.f_gradient = true;
        backward_micro(*bwd, mb, todo);
        return true;
      }
    }
    return false;
  };
  std::vector<Chain> chains;
  for (;;) {
    if (io.progress) io.progress();
    pending_chains(chains);
    const auto runnable = std::find_if(chains.begin(), chains.end(), ready);
    if (runnable != chains.end()) {
      run_chain(*runnable);
      continue;
    }
    if (bwd_count > 0 && fill()) continue;
    if (chains.empty()) break;
    run_chain(chains.front());  // waits for the oldest chain's message
  }
}

// Reference order: the all-reduce of the G gradient (and L_G) and the G update, before the
// targets of the same minibatch. Blocking: every rank calls it at the same point of the same
// minibatch, and no all-reduce of this pipeline is in flight then (no delay in this order).
void SegmentPipeline::apply_feedback_update_now(InFlight& f) {
  const Eigen::Index nf = params_.layout().forward_size(), ng = params_.layout().feedback_size();
  VecF& grad = f.grad.flat();
  if (comm_.size() > 1) {
    std::vector<float> buf(static_cast<std::size_t>(ng) + 1);  // (|θ_G| + 1) gradient and L_G
    std::copy(grad.data() + nf, grad.data() + nf + ng, buf.begin());
    buf[static_cast<std::size_t>(ng)] = static_cast<float>(f.loss_g);
    TraceSpan wait("all-reduce (G)", "wait");
    comm_.allreduce_feedback_sum(std::span<float>(buf));
    std::copy(buf.begin(), buf.begin() + ng, grad.data() + nf);
    f.loss_g = buf[static_cast<std::size_t>(ng)];
  }
  apply_phase_updates(config_, {true, false}, params_, grad, forward_opt_, feedback_opt_, g_updates_, f_updates_);
  grad.tail(ng).setZero();  // applied; the minibatch's later all-reduce carries θ_F
  f.g_applied = true;
}

void SegmentPipeline::start_reduce(InFlight& f) {
  if (comm_.size() == 1) return;
  const Eigen::Index n = f.grad.flat().size();
  f.reduce.resize(static_cast<std::size_t>(n) + 3);
  std::copy(f.grad.flat().data(), f.grad.flat().data() + n, f.reduce.begin());
  f.reduce[static_cast<std::size_t>(n)] = static_cast<float>(f.cost);
  f.reduce[static_cast<std::size_t>(n) + 1] = static_cast<float>(f.loss_g);
  f.reduce[static_cast<std::size_t>(n) + 2] = static_cast<float>(f.loss_f);
  f.handle = comm_.start_allreduce_sum(std::span<float>(f.reduce));
}

void SegmentPipeline::complete_reduce(InFlight& f) {
  if (!f.handle) return;
  TraceSpan wait("all-reduce", "wait");
  comm_.wait_allreduce(*f.handle);
  f.handle.reset();
  const Eigen::Index n = f.grad.flat().size();
  std::copy(f.reduce.begin(), f.reduce.begin() + n, f.grad.flat().data());
  f.cost = f.reduce[static_cast<std::size_t>(n)];
  if (!f.g_applied) f.loss_g = f.reduce[static_cast<std::size_t>(n) + 1];
  f.loss_f = f.reduce[static_cast<std::size_t>(n) + 2];
}

IterationResult SegmentPipeline::finish_reduce(InFlight& f) {
  complete_reduce(f);
  IterationResult r;
  r.cost = f.cost;
  r.did_g = f.did_g;
  r.did_f = f.did_f;
  r.loss_g = f.loss_g;
  r.loss_f = f.loss_f;
  return r;
}

void SegmentPipeline::apply(const InFlight& f) {
  VecF g = f.grad.flat();  // clipping scales it; the reduced gradient stays as it arrived
  if (compensates_) {      // DC-ASGD: over the ranges this update applies
    const Eigen::Index nf = params_.layout().forward_size(), ng = params_.layout().feedback_size();
    const auto correct = [&](Eigen::Index first, Eigen::Index n) {
      delay_compensate(g.segment(first, n), dc_mean_square_.segment(first, n), params_.flat().segment(first, n),
                       f.stash->flat().segment(first, n), dist_.dc_lambda);
    };
    if (f.did_f) correct(0, nf);
    if (f.did_g && !f.g_applied) correct(nf, ng);
  }
  apply_phase_updates(config_, {f.did_g && !f.g_applied, f.did_f}, params_, g, forward_opt_, feedback_opt_, g_updates_,
                      f_updates_);
}

// Decoupled boundary: the neighbour's real values for minibatch m (sent during its backward
// pass of m: the target correction, and ∂E/∂h_b for tptt) and this rank's boundary state, kept
// with the minibatch until they are folded in.
void SegmentPipeline::receive_real_boundary(InFlight& f) {
  const int n = f.range.steps(), H = config_.hidden;
  const bool gradient = gradient_predictor_.size() > 0;
  for (MicroBatch& mb : f.micro) {
    if (mb.has_real_boundary) continue;
    const auto receive = [&](MessageTag tag, MatF& into) {
      into.resize(H, mb.cols);
      comm_.recv(comm_.rank() + 1, tag, std::span<float>(into.data(), static_cast<std::size_t>(into.size())));
    };
    receive(MessageTag::Target, mb.real_target);
    if (gradient) receive(MessageTag::Gradient, mb.real_gradient);
    mb.boundary_state = mb.seg.block(mb.seg.Hs, n);
    mb.has_real_boundary = true;
  }
}

// Decoupled boundary: the real values of minibatch m train the predictors
// (train/boundary_predictor.hpp): the target correction Δ_b, and for tptt ∂E/∂h_b of the
// whole minibatch (the micro-batch's ∂E_u/∂h_b times its weight).
void SegmentPipeline::fold_in_real_boundary(InFlight& f) {
  if (f.folded) return;
  f.folded = true;
  if (!has_real_boundary(f)) return;  // no target was computed for this minibatch
  receive_real_boundary(f);
  for (MicroBatch& mb : f.micro) {
    boundary_lms_step(target_predictor_, mb.boundary_state, mb.real_target, dist_.decoupled_rate);
    if (gradient_predictor_.size() > 0)
      boundary_lms_step(gradient_predictor_, mb.boundary_state, static_cast<Scalar>(mb.weight) * mb.real_gradient,
                        dist_.decoupled_rate);
  }
}

void SegmentPipeline::settle() {
  const int K = comm_.size(), k = comm_.rank();
  // Backward passes this rank still owes its upstream neighbour, in iteration order, and their
  // all-reduces, so that every rank has started the same all-reduces in the same order.
  for (auto& f : in_flight_) {
    if (!f->backward_done) {
      run_passes(nullptr, f.get());
      start_reduce(*f);
    }
  }
  if (dist_.decoupled && k + 1 < K)
    for (auto& f : in_flight_)
      if (!f->folded && has_real_boundary(*f)) receive_real_boundary(*f);
  for (auto& f : in_flight_) complete_reduce(*f);
  if (dist_.decoupled) gather_boundary_state();
}

void SegmentPipeline::drain() {
  if (drained_) return;
  settle();
  drained_ = true;
}

}  // namespace tptt
