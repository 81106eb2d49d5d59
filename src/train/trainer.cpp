#include "tptt/train/trainer.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "tptt/algo/kernels.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/core/trace.hpp"
#include "tptt/data/mnist.hpp"
#include "tptt/model/init.hpp"
#include "tptt/train/data_source.hpp"
#include "tptt/train/diagnostics.hpp"
#include "tptt/train/distributed_modes.hpp"
#include "tptt/train/segment_pass.hpp"
#include "tptt/train/validation.hpp"

namespace tptt {

namespace {

const TrainConfig& validated(const TrainConfig& config) {
  config.validate();
  return config;
}

}  // namespace

// Concurrent schedule: the G phase runs as a long-lived strand on a thread of its own (the
// parallel parts of its kernels as oneTBB tasks), on its own replica (own θ_G, a snapshot of
// θ_F), while the protocol's iterations run F updates.
// The two exchange whole snapshots under a mutex — never a torn read. The G loop makes
// p_G/(1−p_G) G updates per F update: it waits when it is one update ahead of that share,
// and the F strand waits when the G loop is more than kMaxLag F iterations behind it, so
// the staleness of either snapshot stays bounded.
struct Trainer::Concurrent {
  static constexpr double kMaxLag = 2;  // F iterations the G loop may fall behind

  bool g_may_run() const { return stop || g_may_run_more(); }
  bool g_may_run_more() const { return static_cast<double>(stats.g_updates) < ratio * version_f + 1.0; }
  bool f_may_run() const { return finished || ratio * (version_f - kMaxLag) < stats.g_updates + 1.0; }

  Concurrent(const Params<Scalar>& initial, double p_g)
      : ratio(p_g / (1.0 - p_g)),
        g_params(initial),
        ws(initial.shape()),
        published_f(initial.flat().head(initial.layout().forward_size())),
        published_g(initial.flat().tail(initial.layout().feedback_size())) {}

  double ratio;             // G updates per F update
  BackgroundTask g_task;    // runs feedback_loop()
  Params<Scalar> g_params;  // the G loop's replica
  Workspace ws;

  std::mutex mutex;
  std::condition_variable changed;
  VecF published_f;           // latest θ_F, written by the F strand
  VecF published_g;           // latest θ_G, written by the G loop
  VecF published_g_velocity;  // the G optimiser's state with published_g (for checkpoints)
  long version_f = 0, version_g = 0;
  long g_iteration = 0;
  bool started = false, stop = false, finished = false;
  std::exception_ptr error;
  PhaseStats stats;
};

Trainer::Trainer(const TrainConfig& config, Communicator& comm)
    : config_(validated(config)),
      comm_(comm),
      task_(task_info(config.task)),
      output_kind_(task_.regression ? OutputKind::Linear : OutputKind::Softmax),
      params_(ModelShape{task_.inputs, config.hidden, task_.outputs}),
      ws_(params_.shape()),
      forward_opt_(config.optimizer, params_.layout().forward_size(), static_cast<Scalar>(config.momentum)),
      feedback_opt_(config.optimizer, params_.layout().feedback_size(), static_cast<Scalar>(config.momentum)),
      arena_(config.schedule == Schedule::Concurrent ? std::max(1, config.threads - 1) : config.threads),
      mnist_(config.task == TaskKind::Mnist ? shared_mnist(config.data_dir) : nullptr) {
  const int shortest = config_.varying_length() ? config_.min_length : config_.length;
  if (comm_.size() > shortest)
    throw UsageError("more ranks (" + std::to_string(comm_.size()) + ") than time steps (" + std::to_string(shortest) +
                     "): every segment needs at least one step");
  initialise(params_, config_.init, config_.init_std, config_.seed);
  if (config_.schedule == Schedule::Concurrent) concurrent_ = std::make_unique<Concurrent>(params_, config_.p_g);
}

Trainer::~Trainer() {
  try {
    stop_concurrent();
  } catch (...) {  // the error was reported by the step that saw it
  }
}

Batch Trainer::training_batch(long iteration) const { return tptt::training_batch(config_, iteration); }

void Trainer::forward_segment(const Batch& batch, const SegmentRange& range, const Params<Scalar>& params,
                              Workspace& ws, MessageTag state_tag, bool with_feedback,
                              ForwardGPhase<Scalar>* g_phase) const {
  const int B = batch.batch;
  ws.seg.resize(config_.hidden, range.steps(), B);
  const auto X = batch.X.middleCols(static_cast<Eigen::Index>(range.first - 1) * B,
                                    static_cast<Eigen::Index>(range.steps()) * B);
  segment_forward<Scalar>(params, config_.activation, X, with_feedback, neighbour_boundaries(comm_, state_tag), ws.seg,
                          arena_, g_phase);
}

Phases Trainer::draw_phases(long iteration) const {
  if (config_.algorithm == Algorithm::Bptt) return {false, true};
  switch (config_.schedule) {
    case Schedule::Alternate: return {true, true};
    case Schedule::Concurrent: return {false, true};  // this strand updates F; the G loop runs beside it
    case Schedule::Random: {
      CounterRng coin(config_.seed, RngPurpose::Schedule, static_cast<std::uint64_t>(iteration));
      const bool g = coin.uniform() < config_.p_g;
      return {g, !g};
    }
  }
  return {};
}

IterationResult Trainer::step(long iteration) {
  if (concurrent_) return concurrent_step(iteration);
  if (pipeline_) {
    const std::optional<IterationResult> r = pipeline_->step(iteration);
    g_updates_ = pipeline_->g_updates();
    f_updates_ = pipeline_->f_updates();
    if (r) return *r;
    IterationResult none;
    none.has_cost = false;
    return none;
  }
  const Phases phases = draw_phases(iteration);
  if (config_.phase_order == PhaseOrder::Reference && phases.g && phases.f) return reference_step(iteration);
  IterationResult result;
  arena_.execute([&] {
    result = compute(iteration, phases, params_, ws_);
    if (comm_.size() > 1) reduce_across_ranks(result, ws_, {true, true});
  });
  apply_updates(result);
  return result;
}

// The reference order (the authors' g_step, then f_step on the same minibatch): the G phase's
// gradient is reduced and applied first; then G(x_t, h_t) is recomputed with the updated V_hh,
// c_h and the targets and the F phase follow. The forward states do not depend on θ_G and are
// computed once.
IterationResult Trainer::reference_step(long iteration) {
  IterationResult result;
  arena_.execute([&] {
    const SegmentPass pass = begin_pass(iteration, params_, ws_, MessageTag::State,
                                        /*with_feedback=*/config_.noise == 0, /*g_phase=*/true);
    finish_pass(iteration, pass, {true, false}, params_, ws_, result);  // the G phase alone
    if (comm_.size() > 1) reduce_across_ranks(result, ws_, {true, false});
    apply_phase_updates(config_, {true, false}, params_, ws_.grad.flat(), forward_opt_, feedback_opt_, g_updates_,
                        f_updates_);
    feedback_of_states<Scalar>(params_, config_.activation, ws_.seg);
    finish_pass(iteration, pass, {false, true}, params_, ws_, result);
    if (comm_.size() > 1) reduce_across_ranks(result, ws_, {false, true});
  });
  result.did_g = true;
  apply_phase_updates(config_, {false, true}, params_, ws_.grad.flat(), forward_opt_, feedback_opt_, g_updates_,
                      f_updates_);
  return result;
}

Trainer::SegmentPass Trainer::begin_pass(long iteration, const Params<Scalar>& params, Workspace& ws,
                                         MessageTag state_tag, bool with_feedback, bool g_phase) {
  SegmentPass pass{training_batch(iteration), {}};
  const int K = comm_.size(), k = comm_.rank(), B = pass.batch.batch;
  if (K > pass.batch.steps)
    throw UsageError("more ranks (" + std::to_string(K) + ") than time steps (" + std::to_string(pass.batch.steps) +
                     ")");
  pass.range = segment_of(pass.batch.steps, K, k);
  ws.grad.set_zero();
  // On several threads the G phase begins behind G(x_t, h_t) in the forward half, beside the
  // chain; on one it stays in the backward half, where it fills the waits for messages.
  if (g_phase && with_feedback && arena_.threads() > 1) {
    pass.forward_g.grad = &ws.grad;
    if (config_.noise > 0) {
      fill_g_noise(config_, iteration, pass.range, B, ws.noise);
      pass.forward_g.noise = &ws.noise;
    }
  }
  forward_segment(pass.batch, pass.range, params, ws, state_tag, with_feedback,
                  pass.g_phase_begun() ? &pass.forward_g : nullptr);
  ws.dh.resize(config_.hidden, B);
  if (k == K - 1) {
    TraceSpan span("output layer");
    const auto hT = ws.seg.block(ws.seg.Hs, pass.range.steps());
    output_pass<Scalar>(params, output_kind_, hT, pass.batch.Y, ws.out);
    output_backward<Scalar>(params, hT, ws.out, ws.grad, ws.dh);  // ws.dh = ∂E/∂h_T
  }
  return pass;
}

IterationResult Trainer::compute(long iteration, Phases phases, const Params<Scalar>& params, Workspace& ws,
                                 MessageTag state_tag) {
  const bool targets = config_.algorithm != Algorithm::Bptt && phases.f;  // eq. 3, 8, 10
  const bool noisy_g = phases.g && config_.noise > 0;
  const bool states_through_g = targets || (phases.g && !noisy_g);  // G(x_t, h_t) is needed
  const SegmentPass pass = begin_pass(iteration, params, ws, state_tag, states_through_g,
                                      pass_parts(config_.algorithm, phases).g_phase);
  IterationResult result;
  finish_pass(iteration, pass, phases, params, ws, result);
  return result;
}

void Trainer::finish_pass(long iteration, const SegmentPass& pass, Phases phases, const Params<Scalar>& params,
                          Workspace& ws, IterationResult& result) {
  const int B = pass.batch.batch;
  const SegmentRange& range = pass.range;
  const bool last = comm_.rank() == comm_.size() - 1;
  const auto X = pass.batch.X.middleCols(static_cast<Eigen::Index>(range.first - 1) * B,
                                         static_cast<Eigen::Index>(range.steps()) * B);
  const PassParts parts = pass_parts(config_.algorithm, phases);
  const bool g_begun = parts.g_phase && pass.g_phase_begun();
  result.did_g = phases.g;
  result.did_f = phases.f;
  if (last) result.cost = ws.out.cost;
  PassBoundaries<Scalar> io = neighbour_boundaries(comm_, MessageTag::State);
  if (last) {
    io.target_in = [&](MatRef<Scalar> delta) {
      delta = -static_cast<Scalar>(config_.alpha_i) * ws.dh;  // eq. 3: Δ_T (ws.dh = ∂E/∂h_T)
    };
  }
  const bool noisy = parts.g_phase && config_.noise > 0;
  if (noisy && !g_begun) fill_g_noise(config_, iteration, range, B, ws.noise);
  const PassLosses<Scalar> losses = segment_backward<Scalar>(params, config_.activation, X, noisy ? &ws.noise : nullptr,
                                                             parts, io, ws.seg, ws.dh, ws.grad, arena_,
                                                             /*per_step=*/false, g_begun ? &pass.forward_g : nullptr);
  if (parts.targets) result.loss_f = losses.loss_f;
  if (parts.g_phase) result.loss_g = losses.loss_g;
}

void Trainer::reduce_across_ranks(IterationResult& result, Workspace& ws, Phases which) {
  // The gradient tensors of the phases asked for (θ_F first, θ_G last in the flat buffer) and
  // the costs, in one all-reduce.
  const Eigen::Index nf = params_.layout().forward_size(), ng = params_.layout().feedback_size();
  const Eigen::Index first = which.f ? 0 : nf, n = (which.f ? nf : 0) + (which.g ? ng : 0);
  float* grad = ws.grad.flat().data() + first;
  ws.reduce_buf.resize(static_cast<std::size_t>(n) + 3);
  std::copy(grad, grad + n, ws.reduce_buf.begin());
  ws.reduce_buf[n] = static_cast<float>(result.cost);
  ws.reduce_buf[n + 1] = static_cast<float>(result.loss_g);
  ws.reduce_buf[n + 2] = static_cast<float>(result.loss_f);
  TraceSpan wait("all-reduce", "wait");
  if (which.f) {
    comm_.allreduce_sum(std::span<float>(ws.reduce_buf));
  } else {
    comm_.allreduce_feedback_sum(std::span<float>(ws.reduce_buf));  // reference order, before the targets
  }
  std::copy(ws.reduce_buf.begin(), ws.reduce_buf.begin() + n, grad);
  if (which.f) result.cost = ws.reduce_buf[n];
  if (which.g) result.loss_g = ws.reduce_buf[n + 1];
  if (which.f) result.loss_f = ws.reduce_buf[n + 2];
}

void Trainer::reduce_feedback_gradient(IterationResult& result, Workspace& ws) {
  // The G loop's all-reduce of (∂L_G/∂θ_G, L_G), by messages on a tag of its own: a collective
  // would interleave with the F strand's all-reduces in a different order on different ranks.
  const Eigen::Index ng = params_.layout().feedback_size();
  auto& buf = ws.reduce_buf;  // (|θ_G| + 1)
  buf.resize(static_cast<std::size_t>(ng) + 1);
  float* grad = ws.grad.flat().data() + (ws.grad.flat().size() - ng);
  std::copy(grad, grad + ng, buf.begin());
  buf[static_cast<std::size_t>(ng)] = static_cast<float>(result.loss_g);
  comm_.allreduce_sum_by_messages(std::span<float>(buf), MessageTag::FeedbackGradient);
  std::copy(buf.begin(), buf.begin() + ng, grad);
  result.loss_g = buf[static_cast<std::size_t>(ng)];
}

void apply_phase_updates(const TrainConfig& config, Phases phases, Params<Scalar>& params, VecF& grad,
                         Optimizer& forward_opt, Optimizer& feedback_opt, long& g_updates, long& f_updates) {
  const Eigen::Index nf = params.layout().forward_size();
  const Eigen::Index ng = params.layout().feedback_size();
  auto& theta = params.flat();
  // --clip bounds the norm of each phase's gradient (θ_F's, and for TPTT θ_G's) before its step.
  const auto clip = [&](auto part) {
    if (config.clip_norm <= 0) return;
    const double norm = part.norm();
    if (norm > config.clip_norm) part *= static_cast<Scalar>(config.clip_norm / norm);
  };
  if (config.algorithm == Algorithm::Bptt) {
    clip(grad.head(nf));
    forward_opt.step(theta.head(nf), grad.head(nf), static_cast<Scalar>(config.lr));
    ++f_updates;
    return;
  }
  if (phases.g) {
    clip(grad.tail(ng));
    feedback_opt.step(theta.tail(ng), grad.tail(ng), static_cast<Scalar>(config.alpha_g));
    ++g_updates;
  }
  if (phases.f) {
    clip(grad.head(nf));
    forward_opt.step(theta.head(nf), grad.head(nf), static_cast<Scalar>(config.alpha_f));
    ++f_updates;
  }
}

void Trainer::apply_updates(const IterationResult& result) {
  apply_phase_updates(config_, {result.did_g, result.did_f}, params_, ws_.grad.flat(), forward_opt_, feedback_opt_,
                      g_updates_, f_updates_);
}

Learner::AutomaticChoice Trainer::choose_automatic_options() {
  return pipeline_ ? pipeline_->choose_micro_batches() : AutomaticChoice{};
}

PhaseStats Trainer::phase_stats() const {
  if (!concurrent_) return {g_updates_, f_updates_, 0, 0, 0, 0};
  std::lock_guard lock(concurrent_->mutex);
  PhaseStats s = concurrent_->stats;
  s.f_updates = f_updates_;
  return s;
}

IterationResult Trainer::concurrent_step(long iteration) {
  Concurrent& c = *concurrent_;
  const Eigen::Index nf = params_.layout().forward_size();
  const Eigen::Index ng = params_.layout().feedback_size();
  long used_g_version;
  {
    std::unique_lock lock(c.mutex);
    if (!c.started) {
      c.started = true;
      c.published_g_velocity = feedback_opt_.state();
      c.g_task.start([this] { feedback_loop(); });
    }
    c.changed.wait(lock, [&] { return c.f_may_run(); });
    if (c.error) std::rethrow_exception(c.error);
    params_.flat().tail(ng) = c.published_g;  // consistent snapshot of θ_G for the targets
    used_g_version = c.version_g;
  }
  IterationResult result;
  arena_.execute([&] {
    result = compute(iteration, {false, true}, params_, ws_);
    if (comm_.size() > 1) reduce_across_ranks(result, ws_, {false, true});
  });
  apply_updates(result);
  {
    std::lock_guard lock(c.mutex);
    c.published_f = params_.flat().head(nf);
    ++c.version_f;
    const long staleness = c.version_g - used_g_version;
    c.stats.f_staleness_sum += static_cast<double>(staleness);
    c.stats.f_staleness_max = std::max(c.stats.f_staleness_max, staleness);
  }
  c.changed.notify_all();
  return result;
}

void Trainer::feedback_loop() {
  Concurrent& c = *concurrent_;
  const Eigen::Index nf = params_.layout().forward_size();
  const Eigen::Index ng = params_.layout().feedback_size();
  try {
    for (;;) {
      long used_f_version, iteration;
      {
        std::unique_lock lock(c.mutex);
        c.changed.wait(lock, [&] { return c.g_may_run(); });
        if (c.stop) break;
        c.g_params.flat().head(nf) = c.published_f;  // consistent snapshot of θ_F
        used_f_version = c.version_f;
        iteration = c.g_iteration++;
      }
      // G iteration g trains on minibatch g, as the alternate schedule's G phase does.
      IterationResult r = compute(iteration, {true, false}, c.g_params, c.ws, MessageTag::FeedbackState);
      if (comm_.size() > 1) reduce_feedback_gradient(r, c.ws);
      long g_count = 0, f_count = 0;  // the G loop counts its updates in c.stats, below
      apply_phase_updates(config_, {true, false}, c.g_params, c.ws.grad.flat(), forward_opt_, feedback_opt_, g_count,
                          f_count);
      {
        std::lock_guard lock(c.mutex);
        c.published_g = c.g_params.flat().tail(ng);
        c.published_g_velocity = feedback_opt_.state();
        ++c.version_g;
        ++c.stats.g_updates;
        c.stats.g_loss_sum += r.loss_g;
        const long staleness = c.version_f - used_f_version;
        c.stats.g_staleness_sum += static_cast<double>(staleness);
        c.stats.g_staleness_max = std::max(c.stats.g_staleness_max, staleness);
      }
      c.changed.notify_all();
    }
  } catch (...) {
    std::lock_guard lock(c.mutex);
    c.error = std::current_exception();
  }
  // Notify under the lock: once it is released, stop_concurrent() may return and the
  // Trainer (with this condition variable) may be destroyed.
  std::lock_guard lock(c.mutex);
  c.finished = true;
  c.changed.notify_all();
}

Trainer::FeedbackSnapshot Trainer::concurrent_snapshot() {
  Concurrent& c = *concurrent_;
  std::lock_guard lock(c.mutex);
  params_.flat().tail(params_.layout().feedback_size()) = c.published_g;  // the F strand takes it next anyway
  // Before the G loop starts, feedback_opt_ is nobody else's; after, the loop publishes its state.
  return {c.started ? c.published_g_velocity : feedback_opt_.state(), c.stats.g_updates};
}

void Trainer::restore_concurrent() {
  Concurrent& c = *concurrent_;
  std::lock_guard lock(c.mutex);
  if (c.started) throw std::logic_error("Trainer::restore_concurrent: the G loop runs already");
  c.g_params.flat() = params_.flat();
  c.published_f = params_.flat().head(params_.layout().forward_size());
  c.published_g = params_.flat().tail(params_.layout().feedback_size());
  c.version_f = f_updates_;
  c.stats.g_updates = c.g_iteration = g_updates_;
}

void Trainer::set_distributed_mode(const DistributedConfig& dist) {
  pipeline_ = std::make_unique<SegmentPipeline>(*this, dist, comm_);
}

void Trainer::finish() {
  if (pipeline_) pipeline_->drain();  // in-flight messages and all-reduces, on every rank
  stop_concurrent();
}

JsonObject Trainer::diagnostics(long iteration) const {
  return compute_diagnostics(config_, params_, training_batch(iteration)).to_json();
}

void Trainer::stop_concurrent() {
  if (!concurrent_) return;
  Concurrent& c = *concurrent_;
  std::unique_lock lock(c.mutex);
  if (!c.started) return;
  // Let the G loop finish every G iteration the F updates allow: the allowance depends only
  // on the number of F updates, which is the same on every rank, so all ranks' G loops stop
  // after the same G iteration and none waits for a message that will never come.
  c.changed.wait(lock, [&] { return c.finished || c.error || !c.g_may_run_more(); });
  c.stop = true;
  c.changed.notify_all();
  c.changed.wait(lock, [&] { return c.finished; });
  const Eigen::Index ng = params_.layout().feedback_size();
  params_.flat().tail(ng) = c.published_g;  // the final θ_G
  const std::exception_ptr error = c.error;
  lock.unlock();
  c.g_task.join();
  if (error) std::rethrow_exception(error);
}

std::shared_ptr<ValidationPass> Trainer::validation_pass(const ValidationSet& set) const {
  // Each rank runs whole sequences of its share of the chunks (ValidationPass).
  const auto params = std::make_shared<const Params<Scalar>>(params_);  // later updates do not touch it
  return std::make_shared<ValidationPass>(
      config_, set, output_kind_, comm_.rank(), comm_.size(),
      [params, activation = config_.activation, kind = output_kind_](const Batch& batch, int first, int n, MatF& y) {
        MatF h, scratch;  // (H × n) each
        final_state<Scalar>(*params, activation, batch.X, batch.batch, first, n, h, scratch);
        output_forward<Scalar>(*params, kind, h, y);
      });
}

ValidationResult Trainer::validation_result(const ValidationPass& pass) {
  std::array<double, 3> sums = pass.sums();  // errors, summed loss, samples
  comm_.allreduce_sum(std::span<double>(sums.data(), sums.size()));
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

}  // namespace tptt
