#include "tptt/comm/fault_injection.hpp"

#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "tptt/core/error.hpp"

namespace tptt {

FaultKind parse_fault_kind(const std::string& name) {
  if (name == "throw") return FaultKind::Throw;
  if (name == "kill") return FaultKind::Kill;
  throw UsageError("--fail-kind: expected throw or kill, got '" + name + "'");
}

void FaultInjectingCommunicator::allreduce_sum(std::span<float> data) {
  count_reduction();
  inner_.allreduce_sum(data);
}

Communicator::ReduceHandle FaultInjectingCommunicator::start_allreduce_sum(std::span<float> data) {
  count_reduction();
  return inner_.start_allreduce_sum(data);
}

void FaultInjectingCommunicator::count_reduction() {
  const long iteration = reductions_++;
  if (plan_.iteration >= 0 && iteration == plan_.iteration && inner_.rank() == plan_.rank) {
    if (plan_.kind == FaultKind::Kill) {
      std::fprintf(stderr, "tptt: rank %d: injected fault: SIGKILL at iteration %ld\n", inner_.rank(), iteration);
      std::fflush(stderr);
      std::raise(SIGKILL);
    }
    throw std::runtime_error("injected fault at iteration " + std::to_string(iteration) + " (--fail-at-iteration)");
  }
}

}  // namespace tptt
