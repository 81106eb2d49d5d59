#pragma once
// Test aid: a Communicator decorator that makes one rank fail at a chosen iteration, so the
// fault tests can check that a failure on any rank ends the whole job (`tptt train
// --fail-at-iteration N --fail-rank R [--fail-kind throw|kill]`).
//
// The iteration is counted by the gradient all-reduce (allreduce_sum of floats, or its
// non-blocking start), which every rank performs exactly once per training iteration when
// K > 1: the fault fires when rank R enters its N-th such all-reduce (0-based), after its
// forward and backward messages — the other ranks are then blocked in that all-reduce (or in
// the next message), the case the fault test needs.
#include <exception>
#include <string>

#include "tptt/comm/communicator.hpp"

namespace tptt {

enum class FaultKind { Throw, Kill };
FaultKind parse_fault_kind(const std::string& name);  // "throw" | "kill"; throws UsageError

struct FaultPlan {
  long iteration = -1;  // < 0: no fault
  int rank = 0;
  FaultKind kind = FaultKind::Throw;
};

class FaultInjectingCommunicator final : public Communicator {
 public:
  FaultInjectingCommunicator(Communicator& inner, FaultPlan plan) : inner_(inner), plan_(plan) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void send(int to, MessageTag tag, std::span<const float> data) override { inner_.send(to, tag, data); }
  void recv(int from, MessageTag tag, std::span<float> data) override { inner_.recv(from, tag, data); }
  bool has_message(int from, MessageTag tag) override { return inner_.has_message(from, tag); }
  void progress() override { inner_.progress(); }
  // Throws std::runtime_error or raise(SIGKILL)s when the plan says so.
  void allreduce_sum(std::span<float> data) override;
  void allreduce_sum(std::span<double> data) override { inner_.allreduce_sum(data); }
  void allreduce_feedback_sum(std::span<float> data) override { inner_.allreduce_sum(data); }  // not counted
  // Counted like allreduce_sum(float): the gradient all-reduce of the distributed modes.
  ReduceHandle start_allreduce_sum(std::span<float> data) override;
  void wait_allreduce(ReduceHandle handle) override { inner_.wait_allreduce(handle); }
  [[noreturn]] void abort(int code, const std::string& why) override {
    inner_.abort(code, why);
    std::terminate();  // not reached: inner_.abort does not return
  }

 private:
  Communicator& inner_;
  FaultPlan plan_;
  void count_reduction();
  long reductions_ = 0;
};

}  // namespace tptt
