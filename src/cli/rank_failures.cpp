#include "rank_failures.hpp"

#include <iostream>
#include <span>
#include <vector>

#include "tptt/core/error.hpp"

namespace tptt {

Failure classify(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const UsageError& x) {
    return {kExitUsage, x.what()};
  } catch (const FileError& x) {
    return {kExitBadFile, x.what()};
  } catch (const std::exception& x) {
    return {1, std::string("error: ") + x.what()};
  } catch (...) {
    return {1, "error: unknown exception"};
  }
}

std::string failure_message(const Communicator& comm, const Failure& f) {
  if (comm.size() == 1) return f.what;
  std::string what = f.what;
  if (what.rfind("error: ", 0) == 0) what.erase(0, 7);
  return "rank " + std::to_string(comm.rank()) + ": " + what;
}

int agree_on_setup(Communicator& comm, const Failure& mine) {
  std::vector<double> codes(static_cast<std::size_t>(comm.size()), 0.0);
  codes[static_cast<std::size_t>(comm.rank())] = mine.code;
  comm.allreduce_sum(std::span<double>(codes));
  for (int r = 0; r < comm.size(); ++r) {
    const int code = static_cast<int>(codes[static_cast<std::size_t>(r)]);
    if (code == 0) continue;
    if (r == comm.rank()) std::cerr << "tptt: " << failure_message(comm, mine) << std::endl;
    return code;
  }
  return 0;
}

std::unique_ptr<MpiCommunicator> start_mpi(bool wanted) {
  if (!wanted) return nullptr;
  try {
    return std::make_unique<MpiCommunicator>();
  } catch (const std::exception& e) {
    abort_job(1, std::string("error: ") + e.what());
  }
}

void check_threads_per_rank(const MpiCommunicator* mpi, int threads) {
  if (!mpi || threads <= mpi->max_threads()) return;
  const std::string platform = mpi->simulated_platform();
  throw UsageError("--threads " + std::to_string(threads) + ": MPI granted " + mpi->thread_level() + ", so each rank " +
                   (platform.empty() ? "" : "of a simulated cluster ") + "runs one thread; use --threads 1");
}

int finish_mpi(MpiCommunicator* mpi, int code) {
  if (!mpi) return code;
  try {
    mpi->finalize();
  } catch (const std::exception& e) {
    abort_job(code ? code : 1, "rank " + std::to_string(mpi->rank()) + ": error: " + e.what());
  }
  return code;
}

}  // namespace tptt
