// The only translation unit of tptt that includes <mpi.h> (with the other files of
// src/comm/). See include/tptt/comm/mpi_communicator.hpp for the contract.
#include "tptt/comm/mpi_communicator.hpp"

#include <mpi.h>
#if defined(SMPI_H)  // SimGrid's <mpi.h>: this build runs on a simulated cluster (smpicxx, smpirun)
#include <simgrid/host.h>
#define TPTT_SIMULATED_MPI 1
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "tptt/core/clock.hpp"

namespace tptt {

namespace {

// "src/comm/mpi_communicator.cpp" rather than the build machine's absolute path.
const char* short_path(const char* file) {
  const char* p = std::strstr(file, "src/comm/");
  return p ? p : file;
}

std::string mpi_error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return "MPI error code " + std::to_string(rc);
  return std::string(text, static_cast<std::size_t>(len));
}

[[noreturn]] void throw_mpi_error(int rc, const char* call, const char* file, int line) {
  throw CommError(std::string(call) + " failed (" + short_path(file) + ":" + std::to_string(line) +
                  "): " + mpi_error_text(rc));
}

// Every MPI call of this file goes through MPI_CHECK: a failure throws CommError with the
// call, the file and the line.
#define MPI_CHECK(call)                                                                          \
  do {                                                                                           \
    const int mpi_check_rc_ = (call);                                                            \
    if (mpi_check_rc_ != MPI_SUCCESS) throw_mpi_error(mpi_check_rc_, #call, __FILE__, __LINE__); \
  } while (false)

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "unknown MPI thread level";
}

int to_int_count(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw CommError("message of " + std::to_string(n) + " elements exceeds MPI's int count");
  return static_cast<int>(n);
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}

// Several threads of a rank may communicate (one at a time). A library that grants less still
// serves a rank that runs one thread: max_threads() says so, and the commands refuse --threads > 1.
constexpr int kRequiredThreadLevel = MPI_THREAD_SERIALIZED;

#if defined(TPTT_SIMULATED_MPI)
double simulated_seconds() { return MPI_Wtime(); }
#endif

}  // namespace

bool launched_by_mpi_launcher() {
#if defined(TPTT_SIMULATED_MPI)
  return true;  // smpirun sets none of the variables below, and this build runs under nothing else
#endif
  for (const char* var :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

struct MpiCommunicator::Impl {
  MPI_Comm comm = MPI_COMM_NULL;        // a duplicate of MPI_COMM_WORLD: tptt's messages only
  MPI_Comm async_comm = MPI_COMM_NULL;  // another: the non-blocking all-reduces, so that their
                                        // order does not interleave with the blocking ones
  int rank = 0, size = 1;
  int provided = MPI_THREAD_SINGLE;
  bool owns_init = false;  // this object called MPI_Init_thread
  bool finalized = false;
  std::mutex mutex;  // serialises the MPI calls (MPI_THREAD_SERIALIZED)

  struct PendingSend {
    MPI_Request request = MPI_REQUEST_NULL;
    std::vector<float> data;  // the copy being sent; its storage must live until completion
  };
  std::deque<PendingSend> sends;  // oldest first

  // Completes the sends that have finished (caller holds the mutex).
  void reap_sends() {
    while (!sends.empty()) {
      int done = 0;
      MPI_CHECK(MPI_Test(&sends.front().request, &done, MPI_STATUS_IGNORE));
      if (!done) return;
      sends.pop_front();
    }
  }

  // Waits for `request` by polling MPI_Test, releasing the mutex between polls so that other
  // threads can communicate meanwhile. Yields (which costs nothing when no other work wants the
  // core, and gives the core away when some does) for as long as a neighbour's typical chain
  // takes, then backs off to short sleeps, which leave the core to the computing ranks when the
  // job is oversubscribed. A sleep delays the wake-up by up to its length: every boundary
  // message of an iteration waits, so the cap stays small.
  // On a simulated cluster a rank runs one thread, and MPI_Wait lets the simulator advance the
  // rank's clock to the message's arrival: a poll loop would cost a simulator call per poll, and
  // its real-time sleeps would be no time at all in the simulation.
  void wait(MPI_Request& request, MPI_Status* status) {
#if defined(TPTT_SIMULATED_MPI)
    std::lock_guard lock(mutex);
    MPI_CHECK(MPI_Wait(&request, status));
#else
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto sleep = std::chrono::microseconds(5);
    for (;;) {
      int done = 0;
      {
        std::lock_guard lock(mutex);
        MPI_CHECK(MPI_Test(&request, &done, status));
      }
      if (done) return;
      if (Clock::now() - start < std::chrono::milliseconds(2)) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(sleep);
        sleep = std::min(sleep * 2, std::chrono::microseconds(40));
      }
    }
#endif
  }

  // An all-reduce in two steps. Each rank owns a slice of the buffer (the K slices differ in
  // length by at most one): it receives every rank's copy of its slice, sums them in rank order,
  // ((x_0 + x_1) + x_2) + …, the in-process hub's order and so the same bits, and sends the sum
  // to every rank. Each rank sends and sums n/K elements, where a root that gathered everything
  // would receive and sum K·n.
  struct SliceLayout {
    std::vector<int> counts, displs;  // (K) the slices of an n-element buffer
    SliceLayout(std::size_t n, int K) : counts(static_cast<std::size_t>(K)), displs(static_cast<std::size_t>(K)) {
      for (int q = 0, offset = 0; q < K; ++q) {
        counts[q] = to_int_count(n / static_cast<std::size_t>(K) + (static_cast<std::size_t>(q) < n % K));
        displs[q] = offset;
        offset += counts[q];
      }
    }
  };

  template <class T>
  static void sum_in_rank_order(const T* copies, std::size_t count, int K, T* sum) {  // copies: (K × count)
    std::copy(copies, copies + count, sum);
    for (int q = 1; q < K; ++q) {
      const T* x = copies + static_cast<std::size_t>(q) * count;
      for (std::size_t i = 0; i < count; ++i) sum[i] += x[i];
    }
  }

  // Blocking: MPI_Ialltoallv brings the slices, MPI_Iallgatherv returns the sums.
  template <class T>
  void allreduce(std::span<T> data) {
    if (size == 1) return;
    const SliceLayout slices(data.size(), size);
    const int mine = slices.counts[static_cast<std::size_t>(rank)];
    std::vector<T> copies(static_cast<std::size_t>(mine) * static_cast<std::size_t>(size));  // (K × mine)
    std::vector<int> copy_counts(static_cast<std::size_t>(size), mine), copy_displs(static_cast<std::size_t>(size));
    for (int q = 0; q < size; ++q) copy_displs[q] = q * mine;
    MPI_Request request = MPI_REQUEST_NULL;
    {
      std::lock_guard lock(mutex);
      MPI_CHECK(MPI_Ialltoallv(data.data(), slices.counts.data(), slices.displs.data(), mpi_type<T>(), copies.data(),
                               copy_counts.data(), copy_displs.data(), mpi_type<T>(), comm, &request));
    }
    wait(request, MPI_STATUS_IGNORE);
    sum_in_rank_order(copies.data(), static_cast<std::size_t>(mine), size, data.data() + slices.displs[rank]);
    {
      std::lock_guard lock(mutex);
      MPI_CHECK(MPI_Iallgatherv(MPI_IN_PLACE, 0, mpi_type<T>(), data.data(), slices.counts.data(), slices.displs.data(),
                                mpi_type<T>(), comm, &request));
    }
    wait(request, MPI_STATUS_IGNORE);
  }

  // Non-blocking, by messages on async_comm rather than collectives: collectives must start in
  // the same order on every rank, and a rank may wait for one all-reduce before or after it
  // starts the next. Messages between two ranks on one tag arrive in order, and every rank
  // finishes its all-reduces in start order, so each message meets its receive.
  static constexpr int kSliceTag = 1, kSumTag = 2;
  struct AsyncReduce {
    long id = 0;
    std::span<float> data;  // (n) the caller's buffer: in, then out
    SliceLayout slices;
    std::vector<float> sent;    // (n) a copy of data, which the sends read
    std::vector<float> copies;  // (K × counts[rank]) every rank's copy of this rank's slice
    std::vector<MPI_Request> requests;
    bool done = false;  // the sums are in data
    AsyncReduce(long id, std::span<float> data, int K) : id(id), data(data), slices(data.size(), K) {}
  };
  std::deque<AsyncReduce> async;  // in start order
  long next_async_id = 1;

  // Sends slice q of `r`'s buffer to rank q and receives every rank's copy of this rank's slice.
  void start_async(AsyncReduce& r) {
    const std::size_t mine = static_cast<std::size_t>(r.slices.counts[rank]);
    r.sent.assign(r.data.begin(), r.data.end());
    r.copies.resize(mine * static_cast<std::size_t>(size));
    std::copy_n(r.sent.data() + r.slices.displs[rank], mine, r.copies.data() + rank * mine);
    std::lock_guard lock(mutex);
    for (int q = 0; q < size; ++q) {
      if (q == rank) continue;
      MPI_CHECK(MPI_Irecv(r.copies.data() + q * mine, to_int_count(mine), MPI_FLOAT, q, kSliceTag, async_comm,
                          &r.requests.emplace_back()));
      MPI_CHECK(MPI_Isend(r.sent.data() + r.slices.displs[q], r.slices.counts[q], MPI_FLOAT, q, kSliceTag, async_comm,
                          &r.requests.emplace_back()));
    }
  }

  // Sums this rank's slice of `r` and exchanges the sums.
  void finish_async(AsyncReduce& r) {
    wait_all(r.requests);
    const std::size_t mine = static_cast<std::size_t>(r.slices.counts[rank]);
    float* sum = r.data.data() + r.slices.displs[rank];
    sum_in_rank_order(r.copies.data(), mine, size, sum);
    {
      std::lock_guard lock(mutex);
      for (int q = 0; q < size; ++q) {
        if (q == rank) continue;
        MPI_CHECK(MPI_Irecv(r.data.data() + r.slices.displs[q], r.slices.counts[q], MPI_FLOAT, q, kSumTag, async_comm,
                            &r.requests.emplace_back()));
        MPI_CHECK(MPI_Isend(sum, to_int_count(mine), MPI_FLOAT, q, kSumTag, async_comm, &r.requests.emplace_back()));
      }
    }
    wait_all(r.requests);
    r.done = true;
  }

  void wait_all(std::vector<MPI_Request>& requests) {
    for (MPI_Request& request : requests) wait(request, MPI_STATUS_IGNORE);
    requests.clear();
  }
};

MpiCommunicator::MpiCommunicator() : impl_(std::make_unique<Impl>()) {
  int initialized = 0;
  MPI_CHECK(MPI_Initialized(&initialized));
  if (initialized) {
    int finalized = 0;
    MPI_CHECK(MPI_Finalized(&finalized));
    if (finalized) throw CommError("MpiCommunicator: MPI has already been finalised in this process");
    MPI_CHECK(MPI_Query_thread(&impl_->provided));
  } else {
    MPI_CHECK(MPI_Init_thread(nullptr, nullptr, kRequiredThreadLevel, &impl_->provided));
    impl_->owns_init = true;
  }
  // From here on errors are returned, not fatal, so that each is reported with its call site.
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
#if defined(TPTT_SIMULATED_MPI)
  set_run_clock_source(&simulated_seconds);  // every time the user sees is simulated time
#endif
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm));
  MPI_CHECK(MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->async_comm));
  MPI_CHECK(MPI_Comm_set_errhandler(impl_->async_comm, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(impl_->comm, &impl_->rank));
  MPI_CHECK(MPI_Comm_size(impl_->comm, &impl_->size));
}

MpiCommunicator::~MpiCommunicator() = default;

int MpiCommunicator::rank() const { return impl_->rank; }
int MpiCommunicator::size() const { return impl_->size; }

void MpiCommunicator::send(int to, MessageTag tag, std::span<const float> data) {
  if (to < 0 || to >= impl_->size || to == impl_->rank)
    throw CommError("MpiCommunicator::send: no rank " + std::to_string(to) + " to send to from rank " +
                    std::to_string(impl_->rank));
  std::lock_guard lock(impl_->mutex);
  impl_->reap_sends();
  auto& pending = impl_->sends.emplace_back();
  pending.data.assign(data.begin(), data.end());
  MPI_CHECK(MPI_Isend(pending.data.data(), to_int_count(pending.data.size()), MPI_FLOAT, to, static_cast<int>(tag),
                      impl_->comm, &pending.request));
}

void MpiCommunicator::progress() {
  std::lock_guard lock(impl_->mutex);
  impl_->reap_sends();
}

bool MpiCommunicator::has_message(int from, MessageTag tag) {
  int arrived = 0;
  std::lock_guard lock(impl_->mutex);
  impl_->reap_sends();
  MPI_CHECK(MPI_Iprobe(from, static_cast<int>(tag), impl_->comm, &arrived, MPI_STATUS_IGNORE));
  return arrived != 0;
}

void MpiCommunicator::recv(int from, MessageTag tag, std::span<float> data) {
  if (from < 0 || from >= impl_->size || from == impl_->rank)
    throw CommError("MpiCommunicator::recv: no rank " + std::to_string(from) + " to receive from on rank " +
                    std::to_string(impl_->rank));
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->reap_sends();
    MPI_CHECK(MPI_Irecv(data.data(), to_int_count(data.size()), MPI_FLOAT, from, static_cast<int>(tag), impl_->comm,
                        &request));
  }
  MPI_Status status;
  impl_->wait(request, &status);
  int count = 0;
  {
    std::lock_guard lock(impl_->mutex);
    MPI_CHECK(MPI_Get_count(&status, MPI_FLOAT, &count));
  }
  if (count != static_cast<int>(data.size()))
    throw CommError("MpiCommunicator::recv: rank " + std::to_string(impl_->rank) + " expected " +
                    std::to_string(data.size()) + " floats with tag " + std::to_string(static_cast<int>(tag)) +
                    " from rank " + std::to_string(from) + ", got " + std::to_string(count));
}

void MpiCommunicator::allreduce_sum(std::span<float> data) { impl_->allreduce(data); }
void MpiCommunicator::allreduce_sum(std::span<double> data) { impl_->allreduce(data); }

Communicator::ReduceHandle MpiCommunicator::start_allreduce_sum(std::span<float> data) {
  Impl& m = *impl_;
  const long id = m.next_async_id++;
  if (m.size == 1) return id;
  m.start_async(m.async.emplace_back(id, data, m.size));
  return id;
}

void MpiCommunicator::wait_allreduce(ReduceHandle handle) {
  Impl& m = *impl_;
  if (m.size == 1) return;
  auto it = std::find_if(m.async.begin(), m.async.end(), [&](const Impl::AsyncReduce& r) { return r.id == handle; });
  if (it == m.async.end())
    throw CommError("MpiCommunicator::wait_allreduce: no all-reduce " + std::to_string(handle) + " in flight");
  for (auto e = m.async.begin(); e != std::next(it); ++e)  // in start order (see AsyncReduce)
    if (!e->done) m.finish_async(*e);
  m.async.erase(it);
}

void MpiCommunicator::abort(int code, const std::string& why) { abort_job(code, why); }

void MpiCommunicator::finalize() {
  if (impl_->finalized) return;
  while (!impl_->async.empty()) wait_allreduce(impl_->async.back().id);
  while (!impl_->sends.empty()) {
    impl_->wait(impl_->sends.front().request, MPI_STATUS_IGNORE);
    impl_->sends.pop_front();
  }
  MPI_CHECK(MPI_Comm_free(&impl_->async_comm));
  MPI_CHECK(MPI_Comm_free(&impl_->comm));
  impl_->finalized = true;
  if (impl_->owns_init) MPI_CHECK(MPI_Finalize());
}

std::string MpiCommunicator::thread_level() const { return thread_level_name(impl_->provided); }

int MpiCommunicator::max_threads() const {
  return impl_->provided >= kRequiredThreadLevel ? std::numeric_limits<int>::max() : 1;
}

std::string MpiCommunicator::simulated_platform() const {
#if defined(TPTT_SIMULATED_MPI)
  const char* platform = std::getenv("TPTT_SIMULATED_PLATFORM");  // set by launch/simulate.sh
  char speed[64];
  std::snprintf(speed, sizeof speed, "%.4g", sg_host_get_speed(sg_host_self()));
  return std::string(platform ? platform : "unnamed platform") + ", host " + sg_host_get_name(sg_host_self()) + " at " +
         speed + " flop/s";
#else
  return {};
#endif
}

std::string MpiCommunicator::library_version() const {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_CHECK(MPI_Get_library_version(text, &len));
  std::string s(text, static_cast<std::size_t>(len));
  const auto eol = s.find_first_of(std::string("\r\n\0", 3));
  return eol == std::string::npos ? s : s.substr(0, eol);
}

void abort_job(int code, const std::string& why) {
  if (!why.empty()) {
    std::fprintf(stderr, "tptt: %s\n", why.c_str());
    std::fflush(stderr);
  }
  int initialized = 0, finalized = 0;
  if (MPI_Initialized(&initialized) == MPI_SUCCESS && initialized && MPI_Finalized(&finalized) == MPI_SUCCESS &&
      !finalized) {
    std::fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, code);  // does not return; if it did, fall through to exit
  }
  std::fflush(stdout);
  std::_Exit(code);
}

}  // namespace tptt
