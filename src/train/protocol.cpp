#include "tptt/train/protocol.hpp"

#include <chrono>
#include <cmath>
#include <memory>

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

}  // namespace

RunSummary run_protocol(Learner& learner, const std::vector<RunObserver*>& observers, const ProtocolProgress& start,
                        const ProtocolHooks& hooks) {
  using Clock = RunClock;
  const TrainConfig& cfg = learner.config();
  const auto started = Clock::now();
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };

  RunSummary summary;
  ProtocolProgress p = start;  // updated as the loop goes; p.elapsed_s is refreshed on use
  summary.best_error = p.best_error;
  summary.final_error = p.final_error;
  summary.iterations = p.iteration;
  VecF before_last;  // parameters before the last iteration of a check interval
  auto window_start = Clock::now();
  long window_first = p.iteration;
  PhaseStats last_stats = learner.phase_stats();
  const std::vector<TensorSlice> slices = learner.tensor_slices();
  std::optional<PendingCheck> pending;

  // A check's record without its validation, after iteration `it`'s update.
  const auto check_record = [&](long it) {
    CheckRecord rec;
    rec.iteration = it + 1;
    rec.has_feedback = cfg.algorithm == Algorithm::Tptt || cfg.algorithm == Algorithm::TpttHx;
    rec.concurrent = cfg.schedule == Schedule::Concurrent;
    rec.train_cost = p.cost_count ? p.cost_sum / p.cost_count : std::nan("");  // null in the log
    rec.loss_g = p.g_count ? p.loss_g_sum / p.g_count : 0;
    rec.loss_f = p.f_count ? p.loss_f_sum / p.f_count : 0;
    p.cost_sum = p.loss_g_sum = p.loss_f_sum = 0;
    p.cost_count = p.g_count = p.f_count = 0;
    const VecF& theta = learner.flat_params();
    for (const TensorSlice& s : slices)
      rec.update_norm.emplace_back(s.name,
                                   (theta.segment(s.offset, s.count) - before_last.segment(s.offset, s.count)).norm());
    const SpectralRadii rho = learner.spectral_radii();
    rec.rho_whh = rho.recurrent;
    rec.rho_vhh = rho.feedback;
    const PhaseStats stats = learner.phase_stats();
    if (cfg.schedule == Schedule::Concurrent)  // the G loop's updates are not seen by step()
      rec.loss_g = stats.g_updates > last_stats.g_updates
                       ? (stats.g_loss_sum - last_stats.g_loss_sum) / double(stats.g_updates - last_stats.g_updates)
                       : 0.0;
    rec.g_updates = stats.g_updates;
    rec.f_updates = stats.f_updates;
    const auto mean_since = [](double sum_now, double sum_then, long n_now, long n_then) {
      return n_now > n_then ? (sum_now - sum_then) / static_cast<double>(n_now - n_then) : 0.0;
    };
    rec.g_staleness = mean_since(stats.g_staleness_sum, last_stats.g_staleness_sum, stats.g_updates,
                                 last_stats.g_updates);
    rec.f_staleness = mean_since(stats.f_staleness_sum, last_stats.f_staleness_sum, stats.f_updates,
                                 last_stats.f_updates);
    last_stats = stats;
    rec.iterations_per_s = (it + 1 - window_first) / std::max(seconds_since(window_start), 1e-9);
    window_start = Clock::now();
    window_first = it + 1;
    if (hooks.diagnostics) rec.diagnostics = hooks.diagnostics(it);
    return rec;
  };

  // A validated check: best error, patience, the observers, and whether it ends the run.
  const auto conclude = [&](CheckRecord& rec) -> std::optional<StopReason> {
    rec.elapsed_s = start.elapsed_s + seconds_since(started);
    summary.final_error = p.final_error = rec.validation.error;
    if (rec.validation.error < p.best_error) {
      p.best_error = rec.validation.error;
      p.checks_without_improvement = 0;
    } else {
      ++p.checks_without_improvement;
    }
    summary.best_error = rec.best_error = p.best_error;
    for (auto* o : observers) o->on_check(rec);
    if (rec.validation.error < cfg.solved_error) {
      summary.solved = true;
      summary.solved_at = rec.iteration;
      return StopReason::Solved;
    }
    if (!std::isfinite(rec.validation.cost)) return StopReason::NonFiniteCost;
    if (rec.rho_whh > cfg.max_spectral_radius || rec.rho_vhh > cfg.max_spectral_radius)
      return StopReason::SpectralRadius;
    if (p.checks_without_improvement >= cfg.patience) return StopReason::NoImprovement;
    return std::nullopt;
  };

  // Waits for the pending check and concludes it; a solving check sets the learner back to
  // its snapshot.
  const auto settle = [&]() -> std::optional<StopReason> {
    PendingCheck check = std::move(*pending);
    pending.reset();
    check.validation->wait();
    check.record.validation = learner.validation_result(check.validation->pass());
    const std::optional<StopReason> stop = conclude(check.record);
    if (stop == StopReason::Solved) {
      learner.flat_params() = check.params;
      learner.load_state(check.learner_state);
      ProtocolProgress kept = check.progress;  // with the outcome of this check
      kept.best_error = p.best_error;
      kept.final_error = p.final_error;
      kept.checks_without_improvement = p.checks_without_improvement;
      p = kept;
    }
    return stop;
  };

  for (long it = p.iteration; it < cfg.max_iterations; ++it) {
    const bool check_after = (it + 1) % cfg.check_every == 0 || it + 1 == cfg.max_iterations;
    if (check_after) before_last = learner.flat_params();
    const IterationResult r = learner.step(it);
    summary.iterations = p.iteration = it + 1;
    if (r.has_cost) {
      p.cost_sum += r.cost;
      ++p.cost_count;
    }
    if (r.did_g) p.loss_g_sum += r.loss_g, ++p.g_count;
    if (r.did_f) p.loss_f_sum += r.loss_f, ++p.f_count;
    if (r.has_cost && !std::isfinite(r.cost)) {
      summary.reason = StopReason::NonFiniteCost;
      break;
    }
    std::optional<StopReason> stop;
    if (pending && pending->validation->poll()) stop = settle();
    if (check_after && !stop && pending) stop = settle();  // one check at a time, in order
    if (check_after && !stop) {
      CheckRecord rec = check_record(it);
      const ValidationSet set{.length = 0, .draw = it + 1};
      if (cfg.async_validation) {
        pending.emplace(PendingCheck{std::move(rec), nullptr, learner.flat_params(), {}, p});
        learner.save_state(pending->learner_state);
        pending->validation = std::make_unique<BackgroundValidation>(learner.validation_pass(set), learner.arena());
      } else {
        rec.validation = learner.validate(set);
        stop = conclude(rec);
      }
    }
    if (!stop && pending && hooks.checkpoint_due && hooks.checkpoint_due(it + 1)) stop = settle();
    if (stop) {
      summary.reason = *stop;
      break;
    }
    if (hooks.after_iteration && it + 1 < cfg.max_iterations) {
      p.elapsed_s = start.elapsed_s + seconds_since(started);
      p.check_pending = pending.has_value();
      if (hooks.after_iteration(p)) {
        summary.reason = StopReason::Interrupted;
        break;
      }
    }
  }
  // The end waits for a pending check; an outcome of its (earlier) iteration wins.
  if (pending)
    if (const std::optional<StopReason> stop = settle()) summary.reason = *stop;
  p.check_pending = false;
  learner.finish();  // drains the work in flight, joins the G loop: the parameters are final
  summary.seconds = seconds_since(started);
  summary.peak_rss_mib = peak_resident_mib();
  p.elapsed_s = start.elapsed_s + summary.seconds;
  summary.progress = p;
  for (auto* o : observers) o->on_finish(summary);
  return summary;
}

}  // namespace tptt
