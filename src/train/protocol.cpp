#include "tptt/train/protocol.hpp"

#include <chrono>
#include <cmath>

#include "tptt/model/init.hpp"

namespace tptt {

std::string to_string(StopReason r) {
  switch (r) {
    case StopReason::Solved: return "solved";
    case StopReason::MaxIterations: return "max_iterations";
    case StopReason::NonFiniteCost: return "nonfinite_cost";
    case StopReason::SpectralRadius: return "spectral_radius";
    case StopReason::NoImprovement: return "no_improvement";
  }
  return "?";
}

JsonObject CheckRecord::to_json() const {
  JsonObject norms;
  for (Tensor t : kAllTensors) norms.add(tensor_name(t), update_norm[static_cast<int>(t)]);
  JsonObject j;
  j.add("iteration", iteration)
      .add("cost", train_cost)
      .add("val_error", validation.error)
      .add("val_cost", validation.cost)
      .add("best_error", best_error)
      .add("loss_g", loss_g)
      .add("loss_f", loss_f)
      .add("rho_whh", rho_whh)
      .add("rho_vhh", rho_vhh)
      .add("update_norm", norms)
      .add("g_updates", g_updates)
      .add("f_updates", f_updates)
      .add("g_staleness", g_staleness)
      .add("f_staleness", f_staleness)
      .add("elapsed_s", elapsed_s)
      .add("iterations_per_s", iterations_per_s);
  return j;
}

JsonObject RunSummary::to_json() const {
  JsonObject j;
  j.add("solved", solved);
  if (solved) j.add("solved_at", solved_at); else j.add_null("solved_at");
  j.add("best_error", best_error)
      .add("final_error", final_error)
      .add("iterations", iterations)
      .add("seconds", seconds)
      .add("stop_reason", to_string(reason));
  return j;
}

RunSummary run_protocol(Trainer& trainer, const std::vector<RunObserver*>& observers) {
  using Clock = std::chrono::steady_clock;
  const TrainConfig& cfg = trainer.config();
  const auto start = Clock::now();
  const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };

  RunSummary summary;
  int checks_without_improvement = 0;
  double cost_sum = 0, loss_g_sum = 0, loss_f_sum = 0;
  long cost_count = 0, g_count = 0, f_count = 0;
  VecF before_last;  // parameters before the last iteration of a check interval
  auto window_start = Clock::now();
  long window_first = 0;
  PhaseStats last_stats = trainer.phase_stats();

  for (long it = 0; it < cfg.max_iterations; ++it) {
    const bool check_after = (it + 1) % cfg.check_every == 0 || it + 1 == cfg.max_iterations;
    if (check_after) before_last = trainer.params().flat();
    const IterationResult r = trainer.step(it);
    summary.iterations = it + 1;
    if (r.has_cost) {
      cost_sum += r.cost;
      ++cost_count;
    }
    if (r.did_g) loss_g_sum += r.loss_g, ++g_count;
    if (r.did_f) loss_f_sum += r.loss_f, ++f_count;
    if (r.has_cost && !std::isfinite(r.cost)) {
      summary.reason = StopReason::NonFiniteCost;
      break;
    }
    if (!check_after) continue;

    CheckRecord rec;
    rec.iteration = it + 1;
    rec.train_cost = cost_count ? cost_sum / cost_count : std::nan("");  // null in the log
    rec.loss_g = g_count ? loss_g_sum / g_count : 0;
    rec.loss_f = f_count ? loss_f_sum / f_count : 0;
    cost_sum = loss_g_sum = loss_f_sum = 0;
    cost_count = g_count = f_count = 0;
    rec.validation = trainer.validate();
    const auto& p = trainer.params();
    for (Tensor t : kAllTensors) {
      const auto off = p.layout().offset(t);
      const auto n = p.layout().count(t);
      rec.update_norm[static_cast<int>(t)] = (p.flat().segment(off, n) - before_last.segment(off, n)).norm();
    }
    rec.rho_whh = spectral_radius<Scalar>(p.Whh());
    rec.rho_vhh = spectral_radius<Scalar>(p.Vhh());
    const PhaseStats stats = trainer.phase_stats();
    if (cfg.schedule == Schedule::Concurrent)  // the G loop's updates are not seen by step()
      rec.loss_g = stats.g_updates > last_stats.g_updates
                       ? (stats.g_loss_sum - last_stats.g_loss_sum) / double(stats.g_updates - last_stats.g_updates)
                       : 0.0;
    rec.g_updates = stats.g_updates;
    rec.f_updates = stats.f_updates;
    const auto mean_since = [](double sum_now, double sum_then, long n_now, long n_then) {
      return n_now > n_then ? (sum_now - sum_then) / static_cast<double>(n_now - n_then) : 0.0;
    };
    rec.g_staleness = mean_since(stats.g_staleness_sum, last_stats.g_staleness_sum, stats.g_updates, last_stats.g_updates);
    rec.f_staleness = mean_since(stats.f_staleness_sum, last_stats.f_staleness_sum, stats.f_updates, last_stats.f_updates);
    last_stats = stats;
    rec.elapsed_s = seconds_since(start);
    rec.iterations_per_s = (it + 1 - window_first) / std::max(seconds_since(window_start), 1e-9);
    window_start = Clock::now();
    window_first = it + 1;

    summary.final_error = rec.validation.error;
    if (rec.validation.error < summary.best_error) {
      summary.best_error = rec.validation.error;
      checks_without_improvement = 0;
    } else {
      ++checks_without_improvement;
    }
    rec.best_error = summary.best_error;
    for (auto* o : observers) o->on_check(rec);

    if (rec.validation.error < cfg.solved_error) {
      summary.solved = true;
      summary.solved_at = it + 1;
      summary.reason = StopReason::Solved;
      break;
    }
    if (!std::isfinite(rec.validation.cost)) {
      summary.reason = StopReason::NonFiniteCost;
      break;
    }
    if (rec.rho_whh > cfg.max_spectral_radius || rec.rho_vhh > cfg.max_spectral_radius) {
      summary.reason = StopReason::SpectralRadius;
      break;
    }
    if (checks_without_improvement >= cfg.patience) {
      summary.reason = StopReason::NoImprovement;
      break;
    }
  }
  trainer.stop_concurrent();  // joins the G loop; its final θ_G lands in the parameters
  summary.seconds = seconds_since(start);
  for (auto* o : observers) o->on_finish(summary);
  return summary;
}

}  // namespace tptt
