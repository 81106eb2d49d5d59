// `tptt eval`: a trained model (a `tptt train --checkpoint` file) on unseen sequences of any
// length — the generalisation test of Table 4 (train at T = 100, evaluate at T = 200). The
// sequences come from an evaluation stream of the seed that no training minibatch and no
// check of any run draws from.
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli_commands.hpp"
#include "experiment_common.hpp"
#include "tptt/app/checkpointing.hpp"
#include "tptt/core/error.hpp"
#include "tptt/train/validation.hpp"

namespace tptt {

namespace {

constexpr const char* kUsage =
    "usage: tptt eval --model CHECKPOINT [--length L] [--samples N] [--seed S] [options below]\n"
    "Evaluates the model of a checkpoint written by `tptt train --checkpoint` on N sequences of\n"
    "length L that no training minibatch or validation check of the run has seen (an evaluation\n"
    "stream of the seed; task mnist: the test set) and prints one JSON line: model,\n"
    "trained_length, length, samples, validation_stream, error (fraction misclassified; adding:\n"
    "squared error above 0.04), accuracy (1 - error) and cost (mean loss per sample).\n"
    "\n"
    "Eval options:\n"
    "  --model PATH    the checkpoint (required)\n"
    "  --length, -T L  sequence length (default: the length the model was trained at)\n"
    "  --samples N     validation sequences (default: the model's --validation-samples)\n"
    "  --seed S        seed of the validation set (default: the model's)\n"
    "  --errors FILE   also write the misclassified sequences to FILE (CSV: batch, sequence,\n"
    "                  label, predicted; for temporal and temporal3 the steps and symbols of the\n"
    "                  markers, for adding the marked steps; regression: output and target)\n"
    "  --marker-length L0  temporal, temporal3: place the markers as in a sequence of length L0\n"
    "                  (default: L, the task's own), the other steps distractors up to L\n"
    "  --marker-offset D   ... and D steps later (default 0; D + L0 <= L): the probe of\n"
    "                  docs/generalisation.md (L0 = 100, D = 100: the trained lags, a longer prefix)\n"
    "The options below override the stored configuration; the ones that define the model (task,\n"
    "hidden, algorithm) cannot change.\n\n";

// The marker steps of sequence b (1-based t), "t:symbol" joined by spaces: the inputs the label
// depends on (temporal, temporal3: symbols 0 and 1; adding: the marked values). Empty for other
// tasks.
std::string marker_steps(TaskKind task, const Batch& batch, int b) {
  std::ostringstream out;
  const char* separator = "";
  for (int t = 0; t < batch.steps; ++t) {
    const auto x = batch.X.col(static_cast<Eigen::Index>(t) * batch.batch + b);
    const bool temporal = task == TaskKind::Temporal || task == TaskKind::Temporal3;
    if (temporal && (x(0) == 1 || x(1) == 1)) {
      out << separator << t + 1 << ':' << (x(1) == 1 ? 1 : 0);
    } else if (task == TaskKind::Adding && x(0) == 1) {
      out << separator << t + 1 << ':' << x(1);
    } else {
      continue;
    }
    separator = " ";
  }
  return out.str();
}

void write_errors(const std::string& path, const TrainConfig& config, const ValidationSet& set,
                  const std::vector<ValidationPass::Misclassified>& wrong) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw FileError("--errors: cannot write '" + path + "'");
  out << "batch,sequence,label,predicted,output,target,markers\n";
  std::map<int, Batch> batches;  // the validation batches that hold an error
  for (const auto& m : wrong) {
    auto it = batches.find(m.batch);
    if (it == batches.end()) it = batches.emplace(m.batch, validation_batch(config, m.batch, set)).first;
    out << m.batch << ',' << m.sequence << ',' << m.actual << ',' << m.predicted << ',' << m.output << ',' << m.target
        << ',' << marker_steps(config.task, it->second, m.sequence) << '\n';
  }
  if (!out) throw FileError("--errors: cannot write '" + path + "'");
}

}  // namespace

int run_eval(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kUsage << train_options_help(HelpFor::Eval);
    return 0;
  }
  if (!single_process_launch("eval")) return kExitUsage;
  const SplitArgs split = split_own_options(args, {{"--model", "", true},
                                                   {"--length", "-T", true},
                                                   {"--samples", "", true},
                                                   {"--errors", "", true},
                                                   {"--marker-length", "", true},
                                                   {"--marker-offset", "", true}});
  const auto own = [&split](const std::string& name) -> const std::string* {
    const auto it = split.own.find(name);
    return it == split.own.end() ? nullptr : &it->second;
  };
  if (!own("--model") || own("--model")->empty()) throw UsageError("--model: eval needs a checkpoint (--model PATH)");
  const std::string path = *own("--model");
  std::vector<std::string> overrides = split.rest;
  if (!sets_option(split.rest, "--no-progress")) overrides.emplace_back("--no-progress");
  if (own("--samples")) {
    if (sets_option(split.rest, "--validation-samples"))
      throw UsageError("--samples: give either --samples or --validation-samples, not both");
    overrides.push_back("--validation-samples=" + std::to_string(parse_long_option("--samples", *own("--samples"), 1)));
  }

  SoloCommunicator solo;
  LoadedModel model = load_model(path, overrides, solo);  // FileError: missing or damaged; UsageError: overrides
  TrainCommand given = model.command;
  given.run.resume.clear();  // load_model's own
  refuse_per_run_options(given, "eval");
  const TrainConfig& cfg = model.command.config;
  const int trained_length = cfg.longest_length();
  int length = trained_length;
  if (own("--length")) {
    length = static_cast<int>(parse_long_option("--length", *own("--length"), 1));
    const TaskInfo info = task_info(cfg.task);
    if (info.fixed_length > 0 && length != info.fixed_length)
      throw UsageError("--length: task " + to_string(cfg.task) + " has the fixed length " +
                       std::to_string(info.fixed_length));
    if (length < info.min_length)
      throw UsageError("--length: task " + to_string(cfg.task) + " needs a length of at least " +
                       std::to_string(info.min_length) + ", got " + std::to_string(length));
  }

  ValidationSet set{.length = length, .draw = 0, .purpose = ValidationSet::Purpose::Evaluation};
  if (own("--marker-length"))
    set.markers.length = static_cast<int>(parse_long_option("--marker-length", *own("--marker-length"), 1));
  if (own("--marker-offset"))
    set.markers.offset = static_cast<int>(parse_long_option("--marker-offset", *own("--marker-offset"), 0));
  if (!set.markers.is_default()) {  // refused for other tasks or when the markers do not fit
    CounterRng probe(cfg.seed, RngPurpose::EvaluationData, 0, 0);
    (void)generate_batch(cfg.task, length, 1, probe, set.markers);
  }
  const std::shared_ptr<ValidationPass> pass = model.learner->validation_pass(set);
  if (own("--errors")) pass->keep_misclassified();
  pass->run(model.learner->arena());
  const ValidationResult result = model.learner->validation_result(*pass);
  if (own("--errors")) write_errors(*own("--errors"), cfg, set, pass->misclassified());
  // error = wrong / samples: the accuracy from the counts, so that it prints as 0.342, not as
  // 1 - 0.658 = 0.34199999999999997.
  const long samples = cfg.validation_samples;
  const long wrong = std::lround(result.error * static_cast<double>(samples));
  JsonObject out;
  out.add("model", path)
      .add("trained_length", trained_length)
      .add("length", length)
      .add("samples", cfg.validation_samples)
      .add("validation_stream", validation_stream_name(cfg, set));
  if (!set.markers.is_default())
    out.add("marker_length", set.markers.length > 0 ? set.markers.length : length)
        .add("marker_offset", set.markers.offset);
  out.add("error", result.error)
      .add("accuracy", static_cast<double>(samples - wrong) / static_cast<double>(samples))
      .add("cost", result.cost)
      .add("task", to_string(cfg.task))
      .add("algorithm", to_string(cfg.algorithm))
      .add("iterations", model.iteration)
      .add("seed", cfg.seed);
  std::cout << out.str() << std::endl;
  return 0;
}

}  // namespace tptt
