// `tptt train`: parse, print the effective configuration, run the protocol, print a summary.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_commands.hpp"
#include "tptt/io/options.hpp"
#include "tptt/io/reporting.hpp"
#include "tptt/train/protocol.hpp"

namespace tptt {

int run_train(const std::vector<std::string>& args) {
  const TrainCommand cmd = parse_train_command(args);
  if (cmd.help) {
    std::cout << cmd.help_text;
    return 0;
  }
  const TrainConfig& cfg = cmd.config;
  SoloCommunicator comm;
  Trainer trainer(cfg, comm);  // validates before anything is written

  const JsonObject config_json = config_to_json(cfg);
  JsonObject run_json;
  run_json.add("ranks", comm.size()).add("mode", "exact");
  std::vector<RunObserver*> observers;
  std::unique_ptr<MetricsLog> log;
  std::unique_ptr<ProgressLine> progress;
  if (comm.rank() == 0) {
    std::cerr << "tptt train: " << config_json.str() << "\n";
    if (!cfg.log_path.empty()) {
      log = std::make_unique<MetricsLog>(cfg.log_path, JsonObject().add("config", config_json).add("run", run_json));
      observers.push_back(log.get());
    }
    if (cfg.progress) {
      progress = std::make_unique<ProgressLine>(cfg.max_iterations);
      observers.push_back(progress.get());
    }
  }
  const RunSummary summary = run_protocol(trainer, observers);
  if (comm.rank() == 0) {
    JsonObject out;
    out.add("algorithm", to_string(cfg.algorithm)).add("task", to_string(cfg.task)).add("length", cfg.length);
    out.add("seed", cfg.seed).add_raw("result", summary.to_json().str());
    std::cout << out.str() << std::endl;
  }
  return 0;
}

}  // namespace tptt
