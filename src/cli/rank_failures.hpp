#pragma once
// How the commands that may run over K ranks (train, sweep) report a failure: the exit code
// of an exception, its message with the rank's name, and the agreement of every rank on the
// set-up's outcome (docs/distributed.md).
#include <exception>
#include <memory>
#include <string>

#include "tptt/comm/communicator.hpp"
#include "tptt/comm/mpi_communicator.hpp"

namespace tptt {

struct Failure {
  int code = 0;  // 0: none; else the exit code (2 usage, 3 file, 1 other)
  std::string what;
};

Failure classify(const std::exception_ptr& e);

// "<what>" alone, "rank k: <what>" in a job of several ranks.
std::string failure_message(const Communicator& comm, const Failure& f);

// Every rank learns every rank's set-up result; the lowest failing rank prints its message.
// Returns that rank's code (0 if none failed). Collective.
int agree_on_setup(Communicator& comm, const Failure& mine);

// MPI for a command, when `wanted`: a launcher started us (or --mpi on). A failing start
// aborts the job with the message. nullptr when not wanted.
std::unique_ptr<MpiCommunicator> start_mpi(bool wanted);
// Refuses more threads per rank than the MPI library serves (UsageError naming --threads): a
// simulated cluster, for one, runs each rank on one thread.
void check_threads_per_rank(const MpiCommunicator* mpi, int threads);
// Finalises MPI (if started) and returns `code`; a failing finalize aborts the job.
int finish_mpi(MpiCommunicator* mpi, int code);

}  // namespace tptt
