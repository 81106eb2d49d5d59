#include "tptt/train/config.hpp"

#include <cmath>

#include "tptt/core/error.hpp"

namespace tptt {

Schedule parse_schedule(const std::string& name) {
  if (name == "alternate") return Schedule::Alternate;
  if (name == "random") return Schedule::Random;
  if (name == "concurrent") return Schedule::Concurrent;
  throw UsageError("--schedule: unknown schedule '" + name + "' (expected alternate, random or concurrent)");
}

std::string to_string(Schedule s) {
  switch (s) {
    case Schedule::Alternate: return "alternate";
    case Schedule::Random: return "random";
    case Schedule::Concurrent: return "concurrent";
  }
  return "?";
}

PhaseOrder parse_phase_order(const std::string& name) {
  if (name == "reference") return PhaseOrder::Reference;
  if (name == "overlap") return PhaseOrder::Overlap;
  throw UsageError("--phase-order: expected reference or overlap, got '" + name + "'");
}

std::string to_string(PhaseOrder o) { return o == PhaseOrder::Reference ? "reference" : "overlap"; }

ValidationMode parse_validation_mode(const std::string& name) {
  if (name == "fresh") return ValidationMode::Fresh;
  if (name == "fixed") return ValidationMode::Fixed;
  throw UsageError("--validation: expected fresh or fixed, got '" + name + "'");
}

std::string to_string(ValidationMode m) { return m == ValidationMode::Fresh ? "fresh" : "fixed"; }

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0; }
bool finite_nonnegative(double v) { return std::isfinite(v) && v >= 0; }

}  // namespace

void TrainConfig::validate() const {
  const TaskInfo info = task_info(task);
  const std::string min_len = std::to_string(info.min_length);
  if (task == TaskKind::Mnist) {
    require(!data_dir.empty(), "--data-dir: task mnist needs the directory of the MNIST files (launch/fetch-mnist.sh)");
    require(!varying_length(), "--min-length and --max-length do not apply to task mnist (every image has 784 pixels)");
  }
  require(data_dir.empty() || task == TaskKind::Mnist, "--data-dir applies to --task mnist only");
  if (info.fixed_length > 0)
    require(length == info.fixed_length, "--length: task " + to_string(task) + " has the fixed length " +
                                             std::to_string(info.fixed_length) + ", got " + std::to_string(length));
  require(length >= info.min_length, "--length: task " + to_string(task) + " needs a length of at least " + min_len +
                                         ", got " + std::to_string(length));
  require((min_length == 0) == (max_length == 0), "--min-length and --max-length must be given together");
  if (varying_length()) {
    require(min_length >= info.min_length, "--min-length: task " + to_string(task) + " needs at least " + min_len);
    require(max_length >= min_length, "--max-length must not be below --min-length");
  }
  require(batch >= 1, "--batch: must be at least 1, got " + std::to_string(batch));
  require(hidden >= 1, "--hidden: must be at least 1, got " + std::to_string(hidden));
  require(finite_positive(init_std), "--init-std: must be positive");
  require(std::isfinite(momentum) && momentum >= 0 && momentum < 1, "--momentum: must be in [0, 1)");
  require(finite_positive(lr), "--lr: must be positive");
  require(finite_nonnegative(clip_norm), "--clip: must be non-negative (0 = off)");
  require(finite_nonnegative(alpha_i), "--alpha-i: must be non-negative");
  require(finite_positive(alpha_f), "--alpha-f: must be positive");
  require(finite_positive(alpha_g), "--alpha-g: must be positive");
  require(finite_nonnegative(noise), "--noise: must be non-negative");
  require(std::isfinite(p_g) && p_g >= 0 && p_g <= 1, "--p-g: must be in [0, 1]");
  if (algorithm == Algorithm::Lstm) {  // trained by BPTT with --lr (and --clip); no targets, no feedback
    const std::string only_tptt = " applies to tptt and tptt_hx only, not to --algorithm lstm";
    require(schedule == Schedule::Alternate, "--schedule" + only_tptt);
    require(noise == 0, "--noise" + only_tptt);
    require(p_g == 1.0, "--p-g" + only_tptt);
    require(activation == Activation::Tanh,
            "--activation applies to the SRN only: the LSTM's gates are logistic and its cell tanh");
  }
  require(schedule != Schedule::Alternate || p_g == 1.0,
          "--p-g needs --schedule random or concurrent (alternate runs both phases)");
  require(schedule != Schedule::Concurrent || (p_g > 0 && p_g < 1),
          "--schedule concurrent needs --p-g in (0, 1): the G loop makes p_G/(1-p_G) updates per F update "
          "(0.5: one each)");
  require(schedule != Schedule::Concurrent || threads >= 2,
          "--schedule concurrent needs --threads >= 2 (the G loop runs on a thread of its own)");
  require(algorithm != Algorithm::Bptt || (noise == 0 && schedule == Schedule::Alternate),
          "--noise and --schedule apply to tptt and tptt_hx only, not to --algorithm bptt");
  require(threads >= 1 && threads <= 1024, "--threads: must be in [1, 1024], got " + std::to_string(threads));
  require(max_iterations >= 1, "--max-iterations: must be at least 1");
  require(check_every >= 1, "--check-every: must be at least 1");
  require(validation_samples >= 1, "--validation-samples: must be at least 1");
  require(validation_batch >= 1, "--validation-batch: must be at least 1");
  require(std::isfinite(solved_error) && solved_error > 0 && solved_error <= 1, "--solved-error: must be in (0, 1]");
  require(patience >= 1, "--patience: must be at least 1");
  require(finite_positive(max_spectral_radius), "--max-spectral-radius: must be positive");
  require(!async_validation || schedule != Schedule::Concurrent,
          "--async-validation: not available with --schedule concurrent (its G loop's in-flight updates cannot "
          "be set back to a solving check's snapshot); use alternate or random, or drop --async-validation");
}

}  // namespace tptt
