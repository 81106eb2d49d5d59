#pragma once
// The training algorithms (docs/method.md §3) by name.
#include <string>

namespace tptt {

// Lstm: the LSTM baseline trained by BPTT (train/lstm_trainer.hpp), single rank.
enum class Algorithm { Bptt, Tptt, TpttHx, Lstm };
Algorithm parse_algorithm(const std::string& name);  // throws UsageError
std::string to_string(Algorithm a);

}  // namespace tptt
