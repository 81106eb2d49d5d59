#include "tptt/app/checkpointing.hpp"

#include <cstdint>
#include <span>

#include "tptt/core/error.hpp"
#include "tptt/train/trainer.hpp"

namespace tptt {

Checkpoint make_training_checkpoint(const TrainCommand& command, const Learner& learner,
                                    const ProtocolProgress& progress) {
  Checkpoint ckpt;
  ckpt.put_string("config", config_to_ini(command.config));
  ckpt.put_string("run_options", run_options_to_ini(command));
  ckpt.put_string("learner", to_string(command.config.algorithm));
  const VecF& theta = learner.flat_params();
  ckpt.put_f32("params", std::span<const float>(theta.data(), static_cast<std::size_t>(theta.size())));
  learner.save_state(ckpt);
  const std::int64_t counters[5] = {progress.iteration, progress.checks_without_improvement, progress.cost_count,
                                    progress.g_count, progress.f_count};
  ckpt.put_i64("progress_counters", counters);
  const double sums[6] = {progress.best_error, progress.final_error, progress.cost_sum,
                          progress.loss_g_sum, progress.loss_f_sum,  progress.elapsed_s};
  ckpt.put_f64("progress_values", sums);
  // The data position: minibatch n is a function of (seed, n), so (seed, iteration) is the
  // whole state of every random stream (data, phase draws, noise).
  const std::uint64_t position[2] = {command.config.seed, static_cast<std::uint64_t>(progress.iteration)};
  ckpt.put_u64("data_position", position);
  return ckpt;
}

ProtocolProgress restore_training_checkpoint(const Checkpoint& ckpt, Learner& learner) {
  const auto fail = [&](const std::string& what) -> FileError {
    return FileError("checkpoint '" + ckpt.source() + "': " + what);
  };
  if (ckpt.has("learner") && ckpt.get_string("learner") != to_string(learner.config().algorithm))
    throw fail("written by a " + ckpt.get_string("learner") + " run, not " + to_string(learner.config().algorithm));
  VecF& theta = learner.flat_params();
  ckpt.get_f32_into("params", std::span<float>(theta.data(), static_cast<std::size_t>(theta.size())));
  learner.load_state(ckpt);
  const std::vector<std::int64_t> counters = ckpt.get_i64("progress_counters");
  const std::vector<double> values = ckpt.get_f64("progress_values");
  if (counters.size() != 5 || values.size() != 6) throw fail("progress sections of the wrong size");
  ProtocolProgress p;
  p.iteration = static_cast<long>(counters[0]);
  p.checks_without_improvement = static_cast<long>(counters[1]);
  p.cost_count = static_cast<long>(counters[2]);
  p.g_count = static_cast<long>(counters[3]);
  p.f_count = static_cast<long>(counters[4]);
  p.best_error = values[0];
  p.final_error = values[1];
  p.cost_sum = values[2];
  p.loss_g_sum = values[3];
  p.loss_f_sum = values[4];
  p.elapsed_s = values[5];
  if (p.iteration < 0) throw fail("negative iteration count");
  return p;
}

LoadedModel load_model(const std::string& path, const std::vector<std::string>& overrides, Communicator& comm) {
  std::vector<std::string> args = {"--resume", path};
  args.insert(args.end(), overrides.begin(), overrides.end());
  LoadedModel model;
  model.command = parse_train_command(args, ResumeScope::ModelOnly);
  model.learner = make_learner(model.command.config, comm);
  model.iteration = restore_training_checkpoint(*model.command.resume_from, *model.learner).iteration;
  return model;
}

}  // namespace tptt
