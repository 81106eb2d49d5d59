#include "tptt/train/protocol.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include "tptt/io/checkpoint.hpp"
#include "tptt/train/async_validation.hpp"

#include "tptt/core/clock.hpp"
#include "tptt/core/memory.hpp"

namespace tptt {

std::string to_string(StopReason r) {
  switch (r) {
    case StopReason::Solved: return "solved";
    case StopReason::MaxIterations: return "max_iterations";
    case StopReason::NonFiniteCost: return "nonfinite_cost";
    case StopReason::SpectralRadius: return "spectral_radius";
    case StopReason::NoImprovement: return "no_improvement";
    case StopReason::Interrupted: return "interrupted";
  }
  return "?";
}

JsonObject CheckRecord::to_json() const {
  const double none = std::nan("");  // written as null
  JsonObject norms;
  for (const auto& [name, norm] : update_norm)
    norms.add(name, has_feedback || (name != "V_hh" && name != "c_h") ? norm : none);
  JsonObject j;
  j.add("iteration", iteration)
      .add("cost", train_cost)
      .add("val_error", validation.error)
      .add("val_cost", validation.cost)
      .add("best_error", best_error)
      .add("loss_g", has_feedback ? loss_g : none)
      .add("loss_f", has_feedback ? loss_f : none)
      .add("rho_whh", rho_whh)
      .add("rho_vhh", has_feedback ? rho_vhh : none);
  j.add("update_norm", norms);
  if (has_feedback)
    j.add("g_updates", g_updates);
  else
    j.add_null("g_updates");
  j.add("f_updates", f_updates)
      .add("g_staleness", concurrent ? g_staleness : none)
      .add("f_staleness", concurrent ? f_staleness : none)
      .add("elapsed_s", elapsed_s)
      .add("iterations_per_s", iterations_per_s);
  if (diagnostics) j.add("diagnostics", *diagnostics);
  return j;
}

JsonObject RunSummary::to_json() const {
  JsonObject j;
  j.add("solved", solved);
  if (solved)
    j.add("solved_at", solved_at);
  else
    j.add_null("solved_at");
  j.add("best_error", best_error).add("final_error", final_error).add("iterations", iterations);
  if (solved)
    j.add("iterations_after_solved", iterations - solved_at);
  else
    j.add_null("iterations_after_solved");
  j.add("seconds", seconds).add("stop_reason", to_string(reason)).add("peak_rss_mib", peak_rss_mib);
  return j;
}

namespace {

// A check whose validation runs beside training: everything it needs when the result arrives.
struct PendingCheck {
  CheckRecord record;  // all but the validation
  std::unique_ptr<BackgroundValidation> validation;
  VecF params;                // the snapshot it validates
  Checkpoint learner_state;   // the learner's optimiser state and counters at the snapshot
  ProtocolProgress progress;  // the protocol's at the snapshot
};

// One run of the protocol: its loop, its checks and its summary.
class ProtocolRun {
 public:
  ProtocolRun(Learner& learner, const std::vector<RunObserver*>& observers, const ProtocolProgress& start,
              const ProtocolHooks& hooks)
      : learner_(learner),
        cfg_(learner.config()),
        observers_(observers),
        hooks_(hooks),
        earlier_s_(start.elapsed_s),
        p_(start),
        window_first_(start.iteration),
        last_stats_(learner.phase_stats()),
        slices_(learner.tensor_slices()) {
    summary_.best_error = p_.best_error;
    summary_.final_error = p_.final_error;
    summary_.iterations = p_.iteration;
  }

  RunSummary run() {
    for (long it = p_.iteration; it < cfg_.max_iterations; ++it) {
      if (const std::optional<StopReason> stop = iteration(it)) {
        summary_.reason = *stop;
        break;
      }
    }
    return finish();
  }

 private:
  using Clock = RunClock;

  static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

  // Iteration `it`, its check if one is due, and the hooks; the reason to stop after it, if any.
  std::optional<StopReason> iteration(long it) {
    const bool check_after = (it + 1) % cfg_.check_every == 0 || it + 1 == cfg_.max_iterations;
    if (check_after) before_last_ = learner_.flat_params();
    const IterationResult r = learner_.step(it);
    account(it, r);
    if (r.has_cost && !std::isfinite(r.cost)) return StopReason::NonFiniteCost;
    std::optional<StopReason> stop;
    if (pending_ && pending_->validation->poll()) stop = settle();
    if (check_after && !stop) stop = check(it);
    if (!stop && pending_ && hooks_.checkpoint_due && hooks_.checkpoint_due(it + 1)) stop = settle();
    if (stop) return stop;
    if (stop_requested(it)) return StopReason::Interrupted;
    return std::nullopt;
  }

  // The iteration's costs and local losses, summed until the next check.
  void account(long it, const IterationResult& r) {
    summary_.iterations = p_.iteration = it + 1;
    if (r.has_cost) {
      p_.cost_sum += r.cost;
      ++p_.cost_count;
    }
    if (r.did_g) p_.loss_g_sum += r.loss_g, ++p_.g_count;
    if (r.did_f) p_.loss_f_sum += r.loss_f, ++p_.f_count;
  }

  // The check after iteration `it`: validated now, or started in the background (async
  // validation) after the check before it has concluded (one check at a time, in order).
  std::optional<StopReason> check(long it) {
    if (pending_)
      if (const std::optional<StopReason> stop = settle()) return stop;
    CheckRecord rec = check_record(it);
    const ValidationSet set{.length = 0, .draw = it + 1};
    if (cfg_.async_validation) {
      start_background_check(std::move(rec), set);
      return std::nullopt;
    }
    rec.validation = learner_.validate(set);
    return conclude(rec);
  }

  // A check's record without its validation, after iteration `it`'s update.
  CheckRecord check_record(long it) {
    CheckRecord rec;
    rec.iteration = it + 1;
    rec.has_feedback = cfg_.algorithm == Algorithm::Tptt || cfg_.algorithm == Algorithm::TpttHx;
    rec.concurrent = cfg_.schedule == Schedule::Concurrent;
    take_interval_means(rec);
    add_update_norms(rec);
    const SpectralRadii rho = learner_.spectral_radii();
    rec.rho_whh = rho.recurrent;
    rec.rho_vhh = rho.feedback;
    add_phase_stats(rec);
    rec.iterations_per_s = (it + 1 - window_first_) / std::max(seconds_since(window_start_), 1e-9);
    window_start_ = Clock::now();
    window_first_ = it + 1;
    if (hooks_.diagnostics) rec.diagnostics = hooks_.diagnostics(it);
    return rec;
  }

  // The mean cost and local losses since the previous check; the sums start again.
  void take_interval_means(CheckRecord& rec) {
    rec.train_cost = p_.cost_count ? p_.cost_sum / p_.cost_count : std::nan("");  // null in the log
    rec.loss_g = p_.g_count ? p_.loss_g_sum / p_.g_count : 0;
    rec.loss_f = p_.f_count ? p_.loss_f_sum / p_.f_count : 0;
    p_.cost_sum = p_.loss_g_sum = p_.loss_f_sum = 0;
    p_.cost_count = p_.g_count = p_.f_count = 0;
  }

  // ‖Δθ‖ of each tensor in the last iteration.
  void add_update_norms(CheckRecord& rec) const {
    const VecF& theta = learner_.flat_params();
    for (const TensorSlice& s : slices_)
      rec.update_norm.emplace_back(s.name,
                                   (theta.segment(s.offset, s.count) - before_last_.segment(s.offset, s.count)).norm());
  }

  // The phases' update counts, and the concurrent schedule's G loss and staleness means since
  // the previous check.
  void add_phase_stats(CheckRecord& rec) {
    const PhaseStats stats = learner_.phase_stats();
    if (cfg_.schedule == Schedule::Concurrent)  // the G loop's updates are not seen by step()
      rec.loss_g = stats.g_updates > last_stats_.g_updates
                       ? (stats.g_loss_sum - last_stats_.g_loss_sum) / double(stats.g_updates - last_stats_.g_updates)
                       : 0.0;
    rec.g_updates = stats.g_updates;
    rec.f_updates = stats.f_updates;
    const auto mean_since = [](double sum_now, double sum_then, long n_now, long n_then) {
      return n_now > n_then ? (sum_now - sum_then) / static_cast<double>(n_now - n_then) : 0.0;
    };
    rec.g_staleness = mean_since(stats.g_staleness_sum, last_stats_.g_staleness_sum, stats.g_updates,
                                 last_stats_.g_updates);
    rec.f_staleness = mean_since(stats.f_staleness_sum, last_stats_.f_staleness_sum, stats.f_updates,
                                 last_stats_.f_updates);
    last_stats_ = stats;
  }

  // Async validation: snapshots the parameters, the learner's state and the progress, and
  // validates the snapshot beside training.
  void start_background_check(CheckRecord rec, const ValidationSet& set) {
    pending_.emplace(PendingCheck{std::move(rec), nullptr, learner_.flat_params(), {}, p_});
    learner_.save_state(pending_->learner_state);
    pending_->validation = std::make_unique<BackgroundValidation>(learner_.validation_pass(set), learner_.arena());
  }

  // A validated check: best error, patience, the observers, and whether it ends the run.
  std::optional<StopReason> conclude(CheckRecord& rec) {
    rec.elapsed_s = earlier_s_ + seconds_since(started_);
    summary_.final_error = p_.final_error = rec.validation.error;
    if (rec.validation.error < p_.best_error) {
      p_.best_error = rec.validation.error;
      p_.checks_without_improvement = 0;
    } else {
      ++p_.checks_without_improvement;
    }
    summary_.best_error = rec.best_error = p_.best_error;
    for (auto* o : observers_) o->on_check(rec);
    if (rec.validation.error < cfg_.solved_error) {
      summary_.solved = true;
      summary_.solved_at = rec.iteration;
      return StopReason::Solved;
    }
    if (!std::isfinite(rec.validation.cost)) return StopReason::NonFiniteCost;
    if (rec.rho_whh > cfg_.max_spectral_radius || rec.rho_vhh > cfg_.max_spectral_radius)
      return StopReason::SpectralRadius;
    if (p_.checks_without_improvement >= cfg_.patience) return StopReason::NoImprovement;
    return std::nullopt;
  }

  // Waits for the pending check and concludes it; a solving check sets the learner back to
  // its snapshot.
  std::optional<StopReason> settle() {
    PendingCheck check = std::move(*pending_);
    pending_.reset();
    check.validation->wait();
    check.record.validation = learner_.validation_result(check.validation->pass());
    const std::optional<StopReason> stop = conclude(check.record);
    if (stop == StopReason::Solved) {
      learner_.flat_params() = check.params;
      learner_.load_state(check.learner_state);
      ProtocolProgress kept = check.progress;  // with the outcome of this check
      kept.best_error = p_.best_error;
      kept.final_error = p_.final_error;
      kept.checks_without_improvement = p_.checks_without_improvement;
      p_ = kept;
    }
    return stop;
  }

  // ProtocolHooks::after_iteration, after every iteration but the last: whether to stop here.
  bool stop_requested(long it) {
    if (!hooks_.after_iteration || it + 1 >= cfg_.max_iterations) return false;
    p_.elapsed_s = earlier_s_ + seconds_since(started_);
    p_.check_pending = pending_.has_value();
    return hooks_.after_iteration(p_);
  }

  // The end: waits for a pending check (an outcome of its earlier iteration wins), drains the
  // learner and tells the observers.
  RunSummary finish() {
    if (pending_)
      if (const std::optional<StopReason> stop = settle()) summary_.reason = *stop;
    p_.check_pending = false;
    learner_.finish();  // drains the work in flight, joins the G loop: the parameters are final
    summary_.seconds = seconds_since(started_);
    summary_.peak_rss_mib = peak_resident_mib();
    p_.elapsed_s = earlier_s_ + summary_.seconds;
    summary_.progress = p_;
    for (auto* o : observers_) o->on_finish(summary_);
    return summary_;
  }

  Learner& learner_;
  const TrainConfig& cfg_;
  const std::vector<RunObserver*>& observers_;
  const ProtocolHooks& hooks_;
  const double earlier_s_;  // training time of earlier processes (a resumed run)
  const Clock::time_point started_ = Clock::now();
  RunSummary summary_;
  ProtocolProgress p_;  // updated as the loop goes; p_.elapsed_s is refreshed on use
  VecF before_last_;    // parameters before the last iteration of a check interval
  Clock::time_point window_start_ = Clock::now();
  long window_first_;
  PhaseStats last_stats_;
  const std::vector<TensorSlice> slices_;
  std::optional<PendingCheck> pending_;
};

}  // namespace

RunSummary run_protocol(Learner& learner, const std::vector<RunObserver*>& observers, const ProtocolProgress& start,
                        const ProtocolHooks& hooks) {
  return ProtocolRun(learner, observers, start, hooks).run();
}

}  // namespace tptt
