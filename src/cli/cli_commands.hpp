#pragma once
// The subcommands of the tptt executable.
#include <string>
#include <vector>

namespace tptt {

int run_train(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);

}  // namespace tptt
