#pragma once
// The trainer's only view of the other segments. Every MPI call of tptt lives behind this
// interface (the MPI implementation is in comm/mpi_communicator); the solo communicator is
// the single-process case, and tests can run several segments in one process.
#include <span>
#include <string>

namespace tptt {

// Kinds of point-to-point message between neighbouring segments.
enum class MessageTag : int {
  State = 1,     // h_b, forward to rank k+1
  Target = 2,    // ĥ_{a−1}, backward to rank k−1
  Gradient = 3,  // ∂E/∂h_{a−1}, backward to rank k−1 (BPTT, eq. 12)
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual void send(int to, MessageTag tag, std::span<const float> data) = 0;
  virtual void recv(int from, MessageTag tag, std::span<float> data) = 0;
  // Element-wise sum over all ranks, result on every rank.
  virtual void allreduce_sum(std::span<float> data) = 0;
  virtual void allreduce_sum(std::span<double> data) = 0;
  // Ends the whole job (all ranks) with `code` after printing `why`.
  [[noreturn]] virtual void abort(int code, const std::string& why) = 0;
};

// One rank, no peers: the single-process trainer.
class SoloCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void send(int to, MessageTag tag, std::span<const float> data) override;
  void recv(int from, MessageTag tag, std::span<float> data) override;
  void allreduce_sum(std::span<float>) override {}
  void allreduce_sum(std::span<double>) override {}
  [[noreturn]] void abort(int code, const std::string& why) override;
};

}  // namespace tptt
