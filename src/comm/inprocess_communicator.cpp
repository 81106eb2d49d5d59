#include "tptt/comm/inprocess_communicator.hpp"

#include <algorithm>
#include <thread>

namespace tptt {

namespace {

template <class T>
constexpr char kind_of();
template <>
constexpr char kind_of<float>() {
  return 'f';
}
template <>
constexpr char kind_of<double>() {
  return 'd';
}

}  // namespace

InProcessHub::InProcessHub(int ranks, std::chrono::milliseconds timeout)
    : size_(ranks),
      timeout_(timeout),
      slots_(static_cast<std::size_t>(ranks)),
      lengths_(static_cast<std::size_t>(ranks)),
      kinds_(static_cast<std::size_t>(ranks)),
      async_next_(static_cast<std::size_t>(ranks), 0) {
  if (ranks < 1) throw CommError("InProcessHub: needs at least one rank, got " + std::to_string(ranks));
}

void InProcessHub::fail(const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (failure_.empty()) failure_ = why.empty() ? "in-process job failed" : why;
  }
  cv_.notify_all();
}

bool InProcessHub::failed() const {
  std::lock_guard lock(mutex_);
  return !failure_.empty();
}

void InProcessHub::check_failed() const {
  if (!failure_.empty()) throw HubFailed("in-process job failed: " + failure_);
}

template <class Pred>
void InProcessHub::wait(std::unique_lock<std::mutex>& lock, Pred pred, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  const bool ok = cv_.wait_until(lock, deadline, [&] { return !failure_.empty() || pred(); });
  check_failed();
  if (!ok) {
    failure_ = what + ": no progress within " + std::to_string(timeout_.count()) + " ms";
    cv_.notify_all();
    check_failed();
  }
}

void InProcessHub::send(int from, int to, int tag, std::span<const float> data) {
  if (to < 0 || to >= size_ || to == from)
    throw CommError("InProcessCommunicator::send: no rank " + std::to_string(to) + " to send to from rank " +
                    std::to_string(from));
  {
    std::lock_guard lock(mutex_);
    check_failed();
    mailboxes_[Key{from, to, tag}].emplace_back(data.begin(), data.end());
  }
  cv_.notify_all();
}

bool InProcessHub::has_message(int from, int to, int tag) {
  std::lock_guard lock(mutex_);
  check_failed();
  const auto box = mailboxes_.find(Key{from, to, tag});
  return box != mailboxes_.end() && !box->second.empty();
}

void InProcessHub::recv(int from, int to, int tag, std::span<float> data) {
  if (from < 0 || from >= size_ || from == to)
    throw CommError("InProcessCommunicator::recv: no rank " + std::to_string(from) + " to receive from on rank " +
                    std::to_string(to));
  std::unique_lock lock(mutex_);
  auto& box = mailboxes_[Key{from, to, tag}];
  wait(
      lock, [&] { return !box.empty(); },
      "rank " + std::to_string(to) + " waiting for tag " + std::to_string(tag) + " from rank " + std::to_string(from));
  std::vector<float> message = std::move(box.front());
  box.pop_front();
  if (message.size() != data.size()) {
    const std::string why = "rank " + std::to_string(to) + " expected " + std::to_string(data.size()) +
                            " floats with tag " + std::to_string(tag) + " from rank " + std::to_string(from) +
                            ", got " + std::to_string(message.size());
    failure_ = why;
    cv_.notify_all();
    throw CommError(why);
  }
  std::copy(message.begin(), message.end(), data.begin());
}

template <class T>
void InProcessHub::allreduce(int rank, std::span<T> data) {
  if (size_ == 1) return;
  std::unique_lock lock(mutex_);
  check_failed();
  const std::uint64_t my_round = round_;
  const auto r = static_cast<std::size_t>(rank);
  slots_[r] = data.data();
  lengths_[r] = data.size();
  kinds_[r] = kind_of<T>();
  if (++arrived_ < size_) {
    wait(
        lock, [&] { return round_ != my_round; }, "rank " + std::to_string(rank) + " in allreduce_sum");
    return;
  }
  // Last to arrive: every other rank is blocked on its buffer; sum in rank order, hand out.
  for (std::size_t q = 0; q < slots_.size(); ++q) {
    if (lengths_[q] != data.size() || kinds_[q] != kind_of<T>()) {
      failure_ = "allreduce_sum: rank " + std::to_string(q) + " contributed " + std::to_string(lengths_[q]) +
                 " elements of type '" + kinds_[q] + "', rank " + std::to_string(rank) + " " +
                 std::to_string(data.size()) + " of type '" + kind_of<T>() + "'";
      cv_.notify_all();
      check_failed();
    }
  }
  const T* first = static_cast<const T*>(slots_[0]);
  std::vector<T> sum(first, first + data.size());
  for (std::size_t q = 1; q < slots_.size(); ++q) {
    const T* x = static_cast<const T*>(slots_[q]);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += x[i];
  }
  for (void* slot : slots_) std::copy(sum.begin(), sum.end(), static_cast<T*>(slot));
  arrived_ = 0;
  ++round_;
  cv_.notify_all();
}

std::uint64_t InProcessHub::start_async(int rank, std::span<const float> data) {
  {
    std::lock_guard lock(mutex_);
    check_failed();
    const std::uint64_t round = async_next_[static_cast<std::size_t>(rank)]++;
    AsyncRound& r = async_rounds_[round];
    r.contributions.resize(static_cast<std::size_t>(size_));
    r.contributions[static_cast<std::size_t>(rank)].assign(data.begin(), data.end());
    if (++r.arrived < size_) return round;
    for (std::size_t q = 0; q < r.contributions.size(); ++q) {
      if (r.contributions[q].size() != data.size()) {
        failure_ = "start_allreduce_sum: round " + std::to_string(round) + ": rank " + std::to_string(q) +
                   " contributed " + std::to_string(r.contributions[q].size()) + " floats, rank " +
                   std::to_string(rank) + " " + std::to_string(data.size());
        cv_.notify_all();
        check_failed();
      }
    }
    r.sum = r.contributions[0];
    for (std::size_t q = 1; q < r.contributions.size(); ++q)
      for (std::size_t i = 0; i < r.sum.size(); ++i) r.sum[i] += r.contributions[q][i];
    r.contributions.clear();
    r.done = true;
    cv_.notify_all();
    return round;
  }
}

void InProcessHub::wait_async(int rank, std::uint64_t round, std::span<float> data) {
  std::unique_lock lock(mutex_);
  auto it = async_rounds_.find(round);
  if (it == async_rounds_.end()) throw CommError("wait_allreduce: no all-reduce round " + std::to_string(round));
  AsyncRound& r = it->second;
  wait(
      lock, [&] { return r.done; }, "rank " + std::to_string(rank) + " in wait_allreduce");
  std::copy(r.sum.begin(), r.sum.end(), data.begin());
  if (++r.fetched == size_) async_rounds_.erase(it);
}

void InProcessHub::run(int ranks, const std::function<void(Communicator&)>& fn, std::chrono::milliseconds timeout) {
  InProcessHub hub(ranks, timeout);
  std::mutex first_mutex;
  std::exception_ptr first;
  bool first_is_consequence = false;  // `first` is a HubFailed: a later cause replaces it
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(ranks));
  for (int k = 0; k < ranks; ++k) {
    threads.emplace_back([&, k] {
      InProcessCommunicator comm(hub, k);
      try {
        fn(comm);
      } catch (const HubFailed&) {
        std::lock_guard lock(first_mutex);
        if (!first) {
          first = std::current_exception();
          first_is_consequence = true;
        }
      } catch (const std::exception& e) {
        {
          std::lock_guard lock(first_mutex);
          if (!first || first_is_consequence) {
            first = std::current_exception();
            first_is_consequence = false;
          }
        }
        hub.fail("rank " + std::to_string(k) + ": " + e.what());
      } catch (...) {
        {
          std::lock_guard lock(first_mutex);
          if (!first || first_is_consequence) {
            first = std::current_exception();
            first_is_consequence = false;
          }
        }
        hub.fail("rank " + std::to_string(k) + ": unknown exception");
      }
    });
  }
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

InProcessCommunicator::InProcessCommunicator(InProcessHub& hub, int rank) : hub_(hub), rank_(rank) {
  if (rank < 0 || rank >= hub.size())
    throw CommError("InProcessCommunicator: rank " + std::to_string(rank) + " outside a hub of " +
                    std::to_string(hub.size()));
}

void InProcessCommunicator::send(int to, MessageTag tag, std::span<const float> data) {
  hub_.send(rank_, to, static_cast<int>(tag), data);
}

void InProcessCommunicator::recv(int from, MessageTag tag, std::span<float> data) {
  hub_.recv(from, rank_, static_cast<int>(tag), data);
}

bool InProcessCommunicator::has_message(int from, MessageTag tag) {
  return hub_.has_message(from, rank_, static_cast<int>(tag));
}

void InProcessCommunicator::allreduce_sum(std::span<float> data) { hub_.allreduce(rank_, data); }
void InProcessCommunicator::allreduce_sum(std::span<double> data) { hub_.allreduce(rank_, data); }

Communicator::ReduceHandle InProcessCommunicator::start_allreduce_sum(std::span<float> data) {
  const auto round = static_cast<ReduceHandle>(hub_.start_async(rank_, data));
  in_flight_[round] = data;
  return round;
}

void InProcessCommunicator::wait_allreduce(ReduceHandle handle) {
  auto it = in_flight_.find(handle);
  if (it == in_flight_.end()) throw CommError("wait_allreduce: no all-reduce " + std::to_string(handle) + " in flight");
  hub_.wait_async(rank_, static_cast<std::uint64_t>(handle), it->second);
  in_flight_.erase(it);
}

void InProcessCommunicator::abort(int code, const std::string& why) {
  hub_.fail("rank " + std::to_string(rank_) + " aborted with code " + std::to_string(code) + ": " + why);
  throw JobAborted(code, why);
}

}  // namespace tptt
