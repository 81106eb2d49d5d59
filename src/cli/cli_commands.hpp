#pragma once
// The subcommands of the tptt executable.
#include <string>
#include <vector>

namespace tptt {

int run_train(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
// The paper's experiments (curriculum_command.cpp, sweep_command.cpp, eval_command.cpp).
int run_curriculum(const std::vector<std::string>& args);
int run_sweep(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);

}  // namespace tptt
