#include "tptt/algo/algorithm.hpp"

#include "tptt/core/error.hpp"

namespace tptt {

Algorithm parse_algorithm(const std::string& name) {
  if (name == "bptt") return Algorithm::Bptt;
  if (name == "tptt") return Algorithm::Tptt;
  if (name == "tptt_hx" || name == "tptt-hx") return Algorithm::TpttHx;
  if (name == "lstm") return Algorithm::Lstm;
  throw UsageError("--algorithm: unknown algorithm '" + name + "' (expected bptt, tptt, tptt_hx or lstm)");
}

std::string to_string(Algorithm a) {
  switch (a) {
    case Algorithm::Bptt: return "bptt";
    case Algorithm::Tptt: return "tptt";
    case Algorithm::TpttHx: return "tptt_hx";
    case Algorithm::Lstm: return "lstm";
  }
  return "?";
}

}  // namespace tptt
