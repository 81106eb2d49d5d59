#pragma once
// The trainer's only view of the other segments. Every MPI call of tptt lives behind this
// interface (the MPI implementation is in comm/mpi_communicator); the solo communicator is
// the single-process case, and tests can run several segments in one process.
#include <span>
#include <stdexcept>
#include <string>

namespace tptt {

// Kinds of point-to-point message between neighbouring segments.
enum class MessageTag : int {
  State = 1,     // h_b, forward to rank k+1
  Target = 2,    // ĥ_{a−1}, backward to rank k−1
  Gradient = 3,  // ∂E/∂h_{a−1}, backward to rank k−1 (BPTT, eq. 12)
  // The concurrent schedule's G loop, which runs beside the F iterations on its own tags:
  FeedbackState = 4,     // h_b of the G loop's forward pass, forward to rank k+1
  FeedbackGradient = 5,  // the G-phase gradient, to rank 0 and the sum back
  CheckpointState = 6,   // a rank's in-flight state for rank 0's checkpoint (decoupled boundaries)
};

// A failed communication (an MPI error, a message of the wrong size, a peer that gave up).
struct CommError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Semantics every implementation keeps:
// - send() returns once `data` has been copied (buffered, never waits for the receiver);
//   messages between one pair of ranks with one tag arrive in the order they were sent.
// - recv() blocks until the message has arrived; its size must equal data.size() (else
//   CommError).
// - allreduce_sum() sums the contributions in rank order, ((x_0 + x_1) + x_2) + …, and
//   gives every rank the same bits: runs are reproducible and replicas stay identical.
// - start_allreduce_sum()/wait_allreduce() are the non-blocking form: every rank starts its
//   non-blocking all-reduces in the same order; each gives the same bits as allreduce_sum.
//   They are independent of the blocking collectives (an MPI implementation uses its own
//   communicator for them), so a blocking allreduce_sum may run while some are in flight.
// - Any failure throws CommError; nothing waits forever once abort() has been called.
class Communicator {
 public:
  using ReduceHandle = long;
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual void send(int to, MessageTag tag, std::span<const float> data) = 0;
  virtual void recv(int from, MessageTag tag, std::span<float> data) = 0;
  // Whether a message from `from` with `tag` has arrived, so that recv() would not wait. Never
  // blocks; a schedule uses it to do other work while a message is in flight. The default
  // (an implementation that cannot tell) says yes: the caller then simply receives.
  virtual bool has_message(int from, MessageTag tag);
  // Lets sends in flight advance (a transport may move a large message only while its sender
  // calls into it); cheap, never blocks. Called between the steps of a pass.
  virtual void progress() {}
  // Element-wise sum over all ranks, result on every rank.
  virtual void allreduce_sum(std::span<float> data) = 0;
  virtual void allreduce_sum(std::span<double> data) = 0;
  // The same sum for the G-phase gradient that a reference-order iteration reduces before its
  // targets; the iteration's gradient all-reduce (allreduce_sum) still follows. Separate so
  // that decorators that count iterations by that all-reduce (fault_injection.hpp) see one
  // per iteration.
  virtual void allreduce_feedback_sum(std::span<float> data) { allreduce_sum(data); }
  // The same sum made of point-to-point messages on `tag`: rank 0 adds the contributions in
  // rank order and sends the sum back. For a second thread (the concurrent schedule's G loop)
  // whose reductions must not interleave with the first thread's collectives, which could
  // happen in a different order on different ranks.
  void allreduce_sum_by_messages(std::span<float> data, MessageTag tag);
  // Starts summing `data` over all ranks and returns at once; `data` must stay alive and
  // untouched until wait_allreduce(handle) has put the sum into it. The default (for
  // implementations without overlap) sums at once and makes wait_allreduce a no-op.
  virtual ReduceHandle start_allreduce_sum(std::span<float> data);
  virtual void wait_allreduce(ReduceHandle handle);
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
