#pragma once
// K "ranks" as K threads of one process, for tests: the segments of a distributed run
// without MPI. The ranks share an InProcessHub: a mailbox per (from, to, tag) guarded by a
// mutex and a condition variable, and an all-reduce that sums in rank order (bitwise the
// same result as MpiCommunicator's).
//
//   InProcessHub::run(3, [&](Communicator& comm) {
//     Trainer trainer(config, comm);
//     for (long it = 0; it < 20; ++it) trainer.step(it);
//   });
//
// A rank that throws, calls abort(), or waits longer than the hub's timeout fails the hub:
// every blocked and later call of every rank throws HubFailed (a CommError), so no thread
// waits forever, and run() rethrows the failure that caused it.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "tptt/comm/communicator.hpp"

namespace tptt {

// What every rank's call throws once the hub has failed (a consequence, not a cause).
struct HubFailed : CommError {
  using CommError::CommError;
};

// What abort() throws on the aborting rank (the others see HubFailed).
struct JobAborted : CommError {
  JobAborted(int exit_code, const std::string& why) : CommError(why), code(exit_code) {}
  int code;
};

class InProcessHub {
 public:
  explicit InProcessHub(int ranks, std::chrono::milliseconds timeout = std::chrono::seconds(120));
  int size() const { return size_; }

  // Makes every waiting and later operation throw CommError(why). The first reason sticks.
  void fail(const std::string& why);
  bool failed() const;

  // Runs fn(comm) for ranks 0..K−1 on K threads and joins them. If any rank throws, the hub
  // is failed (so the others stop waiting) and the first exception that is not a HubFailed
  // consequence of another rank's failure is rethrown.
  static void run(int ranks, const std::function<void(Communicator&)>& fn,
                  std::chrono::milliseconds timeout = std::chrono::seconds(120));

 private:
  friend class InProcessCommunicator;
  using Key = std::tuple<int, int, int>;  // from, to, tag

  void send(int from, int to, int tag, std::span<const float> data);
  void recv(int from, int to, int tag, std::span<float> data);
  bool has_message(int from, int to, int tag);
  template <class T>
  void allreduce(int rank, std::span<T> data);
  std::uint64_t start_async(int rank, std::span<const float> data);  // returns the round
  void wait_async(int rank, std::uint64_t round, std::span<float> data);
  // Waits on cv_ until pred() holds; throws if the hub fails or the timeout passes.
  template <class Pred>
  void wait(std::unique_lock<std::mutex>& lock, Pred pred, const std::string& what);
  void check_failed() const;  // caller holds mutex_

  int size_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<Key, std::deque<std::vector<float>>> mailboxes_;
  std::string failure_;  // empty while healthy

  // All-reduce rendezvous: contributions of the current round, summed by the last arrival.
  std::uint64_t round_ = 0;  // completed rounds
  int arrived_ = 0;
  std::vector<void*> slots_;  // each rank's buffer in this round
  std::vector<std::size_t> lengths_;
  std::vector<char> kinds_;  // 'f' or 'd'

  // Non-blocking all-reduces: rank r's i-th start joins round i; the last contribution sums.
  struct AsyncRound {
    std::vector<std::vector<float>> contributions;  // by rank
    int arrived = 0, fetched = 0;
    bool done = false;
    std::vector<float> sum;
  };
  std::map<std::uint64_t, AsyncRound> async_rounds_;
  std::vector<std::uint64_t> async_next_;  // by rank: the round of its next start
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(InProcessHub& hub, int rank);
  int rank() const override { return rank_; }
  int size() const override { return hub_.size(); }
  void send(int to, MessageTag tag, std::span<const float> data) override;
  void recv(int from, MessageTag tag, std::span<float> data) override;
  bool has_message(int from, MessageTag tag) override;
  void allreduce_sum(std::span<float> data) override;
  void allreduce_sum(std::span<double> data) override;
  ReduceHandle start_allreduce_sum(std::span<float> data) override;
  void wait_allreduce(ReduceHandle handle) override;
  // Fails the hub (the other ranks' calls throw CommError) and throws JobAborted here.
  [[noreturn]] void abort(int code, const std::string& why) override;

 private:
  InProcessHub& hub_;
  int rank_;
  std::map<ReduceHandle, std::span<float>> in_flight_;  // handle (= round) → where the sum goes
};

}  // namespace tptt
